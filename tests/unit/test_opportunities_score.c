/* Unit tests of the opportunity scorer: exact scores worked out by hand from
 * the rules of docs/opportunities.md, the tier edges, word matching and the
 * seniority segments. */
#include "opportunities/opportunities_score.h"
#include "check.h"

#include <string.h>

static void prefs_init(struct opportunities_prefs *p)
{
    memset(p, 0, sizeof(*p));
    p->remote = -1;
    strcpy(p->currency, "EUR");
}

static void kw(struct opportunities_prefs *p, const char *word, int weight)
{
    strcpy(p->keywords[p->keyword_count].word, word);
    p->keywords[p->keyword_count++].weight = weight;
}

static void input_init(struct opportunities_input *in, const char *title, const char *message)
{
    memset(in, 0, sizeof(*in));
    in->title = title;
    in->message = message;
    in->remote = -1;
    in->currency = "EUR";
}

static int score_of(const struct opportunities_prefs *p, const struct opportunities_input *in)
{
    struct opportunities_score s;
    CHECK_INT(opportunities_score_compute(p, in, &s), 0);
    int sum = 0;
    for (int i = 0; i < s.rule_count; i++)
        sum += s.rules[i].points;
    CHECK_INT(sum, s.raw);
    return s.score;
}

static void test_base_only(void)
{
    struct opportunities_prefs p;
    struct opportunities_input in;
    prefs_init(&p);
    input_init(&in, "Backend Developer", NULL);
    struct opportunities_score s;
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.score, 40);
    CHECK_INT(s.tier, 'C');
    CHECK_INT(s.rule_count, 1);
    CHECK_STR(s.rules[0].rule, "base");
}

static void test_full_example(void)
{
    /* The contract's example preferences against a good match:
     * base 40 + rust 15 (title) + postgresql 10/2 = 5 (message) + senior 10
     * + remote 10 + salary 70000..90000 >= 60000: 10 = 90. */
    struct opportunities_prefs p;
    struct opportunities_input in;
    prefs_init(&p);
    kw(&p, "rust", 15);
    kw(&p, "postgresql", 10);
    strcpy(p.avoid[p.avoid_count++], "php");
    strcpy(p.seniority, "senior");
    p.remote = 1;
    p.has_min_salary = true;
    p.min_salary = 60000;
    input_init(&in, "Senior Rust Engineer", "We run PostgreSQL, fully remote.");
    in.remote = 1;
    in.has_salary_min = in.has_salary_max = true;
    in.salary_min = 70000;
    in.salary_max = 90000;
    struct opportunities_score s;
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.score, 90);
    CHECK_INT(s.tier, 'A');
    CHECK_INT(s.rule_count, 6);
    CHECK_STR(s.rules[1].rule, "keyword");
    CHECK_INT(s.rules[1].points, 15);
    CHECK_STR(s.rules[1].detail, "\"rust\" in the title");
    CHECK_INT(s.rules[2].points, 5);
    CHECK_STR(s.rules[3].rule, "seniority");
    CHECK_INT(s.rules[3].points, 10);

    /* The same with PHP in the message: -30 -> 60, tier B. */
    in.message = "We run PostgreSQL and some PHP, fully remote.";
    CHECK_INT(score_of(&p, &in), 60);
    /* An avoided word counts once even if it is everywhere. */
    in.company = "PHP Shop";
    in.title = "Senior Rust PHP Engineer";
    CHECK_INT(score_of(&p, &in), 60);
}

static void test_tier_edges(void)
{
    struct opportunities_prefs p;
    struct opportunities_input in;
    struct opportunities_score s;
    input_init(&in, "Go developer", NULL);
    prefs_init(&p);
    kw(&p, "go", 35);                      /* 40 + 35 = 75 */
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.score, 75);
    CHECK_INT(s.tier, 'A');
    p.keywords[0].weight = 34;             /* 74 */
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.score, 74);
    CHECK_INT(s.tier, 'B');
    p.keywords[0].weight = 10;             /* 50 */
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.score, 50);
    CHECK_INT(s.tier, 'B');
    p.keywords[0].weight = 9;              /* 49 */
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.score, 49);
    CHECK_INT(s.tier, 'C');
    CHECK_INT(opportunities_tier_of(100), 'A');
    CHECK_INT(opportunities_tier_of(0), 'C');
}

static void test_keyword_cap_and_clamp(void)
{
    struct opportunities_prefs p;
    struct opportunities_input in;
    prefs_init(&p);
    kw(&p, "rust", 30);
    kw(&p, "kafka", 30);
    kw(&p, "k8s", 7);                      /* message: 3 */
    input_init(&in, "Rust Kafka engineer", "k8s too");
    struct opportunities_score s;
    opportunities_score_compute(&p, &in, &s);
    /* 40 + 30 + 30 + 3 = 103, cap: -23 -> 80 */
    CHECK_INT(s.raw, 80);
    CHECK_INT(s.score, 80);
    CHECK_STR(s.rules[s.rule_count - 1].rule, "keyword_cap");
    CHECK_INT(s.rules[s.rule_count - 1].points, -23);
    /* Three avoided words: 40 - 90 = -50, clamped to 0. */
    prefs_init(&p);
    strcpy(p.avoid[p.avoid_count++], "php");
    strcpy(p.avoid[p.avoid_count++], "wordpress");
    strcpy(p.avoid[p.avoid_count++], "sales");
    input_init(&in, "PHP WordPress developer", "sales targets");
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.raw, -50);
    CHECK_INT(s.score, 0);
    CHECK_INT(s.tier, 'C');
    /* Everything good: 40 + 40 + 10 + 10 + 10 = 110 -> 100. */
    prefs_init(&p);
    kw(&p, "data", 50);
    strcpy(p.seniority, "junior");
    p.remote = 0;
    p.has_min_salary = true;
    p.min_salary = 30000;
    input_init(&in, "Junior Data Analyst", NULL);
    in.remote = 0;
    in.has_salary_min = true;
    in.salary_min = 35000;
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.raw, 110);                 /* 40 + 50 - 10 (cap) + 10 + 10 + 10 */
    CHECK_INT(s.score, 100);
}

static void test_whole_words_case_accents(void)
{
    struct opportunities_prefs p;
    struct opportunities_input in;
    prefs_init(&p);
    kw(&p, "java", 20);
    input_init(&in, "JavaScript developer", NULL);
    CHECK_INT(score_of(&p, &in), 40);      /* no "java" word */
    input_init(&in, "Développeur JAVA", NULL);
    CHECK_INT(score_of(&p, &in), 60);
    prefs_init(&p);
    kw(&p, "Node.js", 20);
    kw(&p, "c++", 10);
    kw(&p, "machine learning", 8);
    input_init(&in, "node js and C++", "Some Machine-Learning");
    CHECK_INT(score_of(&p, &in), 40 + 20 + 10 + 4);
    prefs_init(&p);
    kw(&p, "sécurité", 12);
    input_init(&in, "Ingénieur SECURITE réseau", NULL);
    CHECK_INT(score_of(&p, &in), 52);
    /* weight 1 in the message is worth 0 and not listed */
    prefs_init(&p);
    kw(&p, "go", 1);
    input_init(&in, "Developer", "we use go");
    struct opportunities_score s;
    opportunities_score_compute(&p, &in, &s);
    CHECK_INT(s.score, 40);
    CHECK_INT(s.rule_count, 1);
}

static void test_seniority(void)
{
    CHECK_STR(opportunities_seniority_of("Senior Data Engineer"), "senior");
    CHECK_STR(opportunities_seniority_of("Stagiaire développeur"), "intern");
    CHECK_STR(opportunities_seniority_of("Développeur débutant"), "junior");
    CHECK_STR(opportunities_seniority_of("Entry Level Analyst"), "junior");
    CHECK_STR(opportunities_seniority_of("Ingénieur confirmé"), "senior");
    /* Learning's precedence: a strong senior word beats intern, intern beats
     * junior, junior beats the role words (lead, staff, ...). */
    CHECK_STR(opportunities_seniority_of("Senior Intern Program Manager"), "senior");
    CHECK_STR(opportunities_seniority_of("Lead intern"), "intern");
    CHECK_STR(opportunities_seniority_of("Junior team lead"), "junior");
    CHECK_STR(opportunities_seniority_of("Lead generation specialist"), "default");
    CHECK_STR(opportunities_seniority_of(NULL), "default");
    CHECK_STR(opportunities_seniority_of("Leader of things"), "default");   /* whole words: not "lead" */
    CHECK_STR(opportunities_seniority_of("Tech LEAD"), "senior");
    CHECK_STR(opportunities_seniority_of("Software Engineer"), "default");
    CHECK_STR(opportunities_seniority_of(""), "default");

    struct opportunities_prefs p;
    struct opportunities_input in;
    prefs_init(&p);
    strcpy(p.seniority, "senior");
    input_init(&in, "Junior developer", NULL);
    CHECK_INT(score_of(&p, &in), 25);      /* 40 - 15 */
    input_init(&in, "Developer", NULL);
    CHECK_INT(score_of(&p, &in), 40);      /* no seniority named: 0 */
    input_init(&in, "Staff engineer", NULL);
    CHECK_INT(score_of(&p, &in), 50);
}

static void test_remote_and_salary(void)
{
    struct opportunities_prefs p;
    struct opportunities_input in;
    prefs_init(&p);
    p.remote = 1;
    input_init(&in, "Dev", NULL);
    CHECK_INT(score_of(&p, &in), 40);      /* remote unknown */
    in.remote = 0;
    CHECK_INT(score_of(&p, &in), 30);
    in.remote = 1;
    CHECK_INT(score_of(&p, &in), 50);

    prefs_init(&p);
    p.has_min_salary = true;
    p.min_salary = 60000;
    input_init(&in, "Dev", NULL);
    CHECK_INT(score_of(&p, &in), 40);      /* no salary */
    in.has_salary_max = true;
    in.salary_max = 60000;                 /* only a max, equal: whole range */
    CHECK_INT(score_of(&p, &in), 50);
    in.has_salary_min = true;
    in.salary_min = 50000;                 /* 50000..60000: top reaches */
    CHECK_INT(score_of(&p, &in), 45);
    in.salary_max = 59999;
    CHECK_INT(score_of(&p, &in), 20);      /* below */
    in.currency = "USD";
    CHECK_INT(score_of(&p, &in), 40);      /* other currency: not compared */
}

static void test_words(void)
{
    char out[64];
    CHECK_INT(opportunities_score_words("  Hello,  World!! ", out, sizeof(out)), 11);
    CHECK_STR(out, "hello world");
    opportunities_score_words("C# / .NET", out, sizeof(out));
    CHECK_STR(out, "c# net");
    opportunities_score_words("Œuvre-Été", out, sizeof(out));
    CHECK_STR(out, "oeuvre ete");
    opportunities_score_words("abcdef ghi", out, 8);
    CHECK_STR(out, "abcdef");
}

static void test_deterministic(void)
{
    struct opportunities_prefs p;
    struct opportunities_input in;
    prefs_init(&p);
    kw(&p, "rust", 15);
    input_init(&in, "Rust", "rust");
    struct opportunities_score a, b;
    opportunities_score_compute(&p, &in, &a);
    opportunities_score_compute(&p, &in, &b);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0);
}

int main(void)
{
    test_base_only();
    test_full_example();
    test_tier_edges();
    test_keyword_cap_and_clamp();
    test_whole_words_case_accents();
    test_seniority();
    test_remote_and_salary();
    test_words();
    test_deterministic();
    CHECK_DONE();
}

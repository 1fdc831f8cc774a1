/* Unit tests of learning_segment: a table of real job titles, plain and
 * tricky (French and English, case, accents, punctuation, whole words,
 * precedence between tiers, the exclusions). Expected values are written by
 * hand from the rules of docs/learning.md, not produced by the code. */
#include "check.h"
#include "learning/learning_segment.h"

#include <string.h>

struct seg_case {
    const char *title;
    const char *want;
    int tricky;
};

static const struct seg_case seg_cases[] = {
    /* plain */
    {"Senior Data Engineer", "senior", 0},
    {"Junior Developer", "junior", 0},
    {"Software Engineering Intern", "intern", 0},
    {"Data Analyst", "default", 0},
    {"Stagiaire Marketing Digital", "intern", 0},
    {"Alternant Développeur Web", "intern", 0},
    {"Apprenti Comptable", "intern", 0},
    {"Summer Internship 2026 - Finance", "intern", 0},
    {"Graduate Software Engineer", "junior", 0},
    {"Trainee Accountant", "intern", 0},
    {"Principal Product Manager", "senior", 0},
    {"Staff Software Engineer", "senior", 0},
    {"Lead Backend Developer", "senior", 0},
    {"Head of Engineering", "senior", 0},
    {"Chef de projet", "senior", 0},
    {"Développeur confirmé", "senior", 0},
    {"Expert Cybersécurité", "senior", 0},
    {"Débutant accepté - Vendeur", "junior", 0},
    {"Entry Level Sales Representative", "junior", 0},
    {"Product Designer", "default", 0},
    {"Ingénieur logiciel", "default", 0},
    {"Customer Success Manager", "default", 0},
    {"Backend Engineer (Go)", "default", 0},
    {"Business Developer", "default", 0},
    {"Infirmier", "default", 0},
    {"Comptable", "default", 0},
    {"Apprentice Electrician", "intern", 0},
    {"Contrat en alternance - Assistant RH", "intern", 0},
    {"Jeune diplômé - Ingénieur d'affaires", "junior", 0},
    {"Senior Product Designer", "senior", 0},
    /* tricky: case, accents, punctuation, abbreviations */
    {"Sr. Backend Engineer", "senior", 1},
    {"SR BACKEND ENGINEER", "senior", 1},
    {"Jr Frontend Dev", "junior", 1},
    {"jr. frontend dev", "junior", 1},
    {"Sénior Data Scientist", "senior", 1},
    {"SÉNIOR", "senior", 1},
    {"Développeur(se) Confirmé(e)", "senior", 1},
    {"Débutant(e) accepté(e)", "junior", 1},
    {"STAGIAIRE", "intern", 1},
    {"Stagiaire(s) H/F", "intern", 1},
    {"Alternance", "intern", 1},
    {"Alternant(e) - Chef de projet digital", "intern", 1},
    {"Entry-level Analyst", "junior", 1},
    {"ENTRY-LEVEL", "junior", 1},
    {"Chef\xc2\xa0" "de\xc2\xa0" "projet junior", "junior", 1},          /* no-break spaces */
    {"Ingénieur expérimenté(e)", "senior", 1},
    {"Head of Data, Paris", "senior", 1},
    {"Lead Dev/Architecte", "senior", 1},
    {"Snr. Consultant", "senior", 1},
    {"Data Engineer - Jnr", "junior", 1},
    {"New Grad Software Engineer 2026", "junior", 1},
    /* tricky: whole words only */
    {"Internal Auditor", "default", 1},
    {"International Sales Manager", "default", 1},
    {"Auditeur interne", "default", 1},
    {"Headhunter", "default", 1},
    {"Head Hunter IT", "default", 1},
    {"Leadership Development Manager", "default", 1},
    {"Staffing Coordinator", "default", 1},
    {"Seniority Analyst", "default", 1},
    {"Juniper Network Engineer", "default", 1},
    {"Undergraduate Research Assistant", "default", 1},
    {"Expertise Comptable - Collaborateur", "default", 1},
    {"Principality Relations", "default", 1},
    /* tricky: precedence between tiers */
    {"Senior Intern Program Manager", "senior", 1},
    {"Junior Team Lead", "junior", 1},
    {"Graduate Trainee", "intern", 1},
    {"Stage - Assistant chef de produit", "intern", 1},
    {"Junior Expert - EU Projects", "junior", 1},
    {"Senior Lead Engineer", "senior", 1},
    {"Principal, Junior Talent Programs", "senior", 1},
    {"Stagiaire expert-comptable", "intern", 1},
    /* tricky: exclusions (the word is not a seniority) */
    {"Senior Living Community Coordinator", "default", 1},
    {"Senior Care Aide", "default", 1},
    {"Animateur seniors", "default", 1},
    {"Lead Generation Specialist", "default", 1},
    {"Expert-comptable", "default", 1},
    {"Early-Stage Startup Engineer", "default", 1},
    {"Stage Manager (Theatre)", "default", 1},
    {"Offre de stage : Data analyst", "intern", 1},
    {"Multi-stage Pipeline Engineer", "default", 1},
    /* tricky: empty and odd input */
    {"", "default", 1},
    {"   ", "default", 1},
    {"---", "default", 1},
    {"\xe5\xae\x9e\xe4\xb9\xa0\xe7\x94\x9f", "default", 1},           /* Chinese "intern": not looked up */
    {"Intern\xe5\xae\x9e", "default", 1},                           /* glued to non-ASCII: another word */
    {"Senior\t\tEngineer\n", "senior", 1},
};

static void test_table(void)
{
    size_t n = sizeof(seg_cases) / sizeof(seg_cases[0]);
    size_t tricky = 0;
    for (size_t i = 0; i < n; i++) {
        const char *got = learning_segment_of(seg_cases[i].title);
        tricky += (size_t)seg_cases[i].tricky;
        if (got == NULL || strcmp(got, seg_cases[i].want) != 0)
            fprintf(stderr, "title \"%s\": ", seg_cases[i].title);
        CHECK_STR(got, seg_cases[i].want);
    }
    CHECK(n >= 60);
    CHECK(tricky * 2 >= n);
}

static void test_api(void)
{
    CHECK(learning_segment_of(NULL) == NULL);
    CHECK_STR(learning_segment_name(LEARNING_SEGMENT_INTERN), "intern");
    CHECK_STR(learning_segment_name(LEARNING_SEGMENT_DEFAULT), "default");
    CHECK(learning_segment_name(LEARNING_SEGMENT_COUNT) == NULL);
    /* len bounds the title: "Senior" cut to "Sen" is no longer a word of the list */
    CHECK_INT(learning_segment_derive("Senior", 3), LEARNING_SEGMENT_DEFAULT);
    CHECK_INT(learning_segment_derive("Intern Senior", 6), LEARNING_SEGMENT_INTERN);
    /* deterministic: the same answer twice */
    CHECK_STR(learning_segment_of("Senior Intern Program Manager"),
              learning_segment_of("Senior Intern Program Manager"));
    /* a title longer than the bound: only its first LEARNING_SEGMENT_TITLE_BYTES count */
    char long_title[LEARNING_SEGMENT_TITLE_BYTES + 64];
    memset(long_title, 'x', sizeof(long_title) - 1);
    long_title[sizeof(long_title) - 1] = '\0';
    memcpy(long_title + LEARNING_SEGMENT_TITLE_BYTES + 2, " senior", 7);
    CHECK_STR(learning_segment_of(long_title), "default");
    memcpy(long_title, "intern ", 7);
    CHECK_STR(learning_segment_of(long_title), "intern");
    /* more words than LEARNING_SEGMENT_WORDS_MAX: the later ones are not looked at */
    char many[LEARNING_SEGMENT_WORDS_MAX * 2 + 16] = "";
    for (int i = 0; i < LEARNING_SEGMENT_WORDS_MAX; i++)
        strcat(many, "a ");
    strcat(many, "senior");
    CHECK_STR(learning_segment_of(many), "default");
}

int main(void)
{
    test_table();
    test_api();
    CHECK_DONE();
}

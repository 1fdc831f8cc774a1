/* libFuzzer target: the opportunity scorer on arbitrary bytes. The input
 * is split on NUL bytes into a title, a company, a message and keywords;
 * checks the invariants of opportunities_score.h: the rules' points add
 * up to raw, the score is raw clamped to 0..100, the tier follows the
 * score, the same input scores the same, the seniority is one of four. */
#include "opportunities/opportunities_score.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *parts[8] = {""};
    int n = 0;
    parts[n++] = buf;
    for (size_t i = 0; i < size && n < 8; i++)
        if (buf[i] == '\0')
            parts[n++] = buf + i + 1;
    static struct opportunities_prefs p;
    memset(&p, 0, sizeof(p));
    p.remote = size % 3 == 0 ? -1 : (int)(size % 2);
    strcpy(p.currency, "EUR");
    strcpy(p.seniority, size % 5 == 0 ? "" : "senior");
    p.has_min_salary = size % 2 == 0;
    p.min_salary = 50000;
    for (int i = 3; i < n && p.keyword_count < OPP_KEYWORDS_MAX; i++) {
        strncpy(p.keywords[p.keyword_count].word, parts[i], OPP_WORD_BYTES - 1);
        p.keywords[p.keyword_count++].weight = 1 + (int)(strlen(parts[i]) % OPP_KEYWORD_WEIGHT_MAX);
        strncpy(p.avoid[p.avoid_count++], parts[i] + strlen(parts[i]) / 2, OPP_WORD_BYTES - 1);
    }
    struct opportunities_input in = {.title = parts[0], .company = n > 1 ? parts[1] : NULL,
                                     .message = n > 2 ? parts[2] : NULL, .remote = (int)(size % 3) - 1,
                                     .has_salary_min = size % 4 == 0, .salary_min = 40000 + (int64_t)size,
                                     .currency = "EUR"};
    static struct opportunities_score a, b;
    if (opportunities_score_compute(&p, &in, &a) == 0 && opportunities_score_compute(&p, &in, &b) == 0) {
        int sum = 0;
        for (int i = 0; i < a.rule_count; i++)
            sum += a.rules[i].points;
        if (sum != a.raw || a.score != (a.raw < 0 ? 0 : a.raw > 100 ? 100 : a.raw) ||
            a.tier != opportunities_tier_of(a.score) || memcmp(&a, &b, sizeof(a)) != 0)
            abort();
    }
    const char *seg = opportunities_seniority_of(parts[0]);
    if (strcmp(seg, "intern") && strcmp(seg, "junior") && strcmp(seg, "senior") && strcmp(seg, "default"))
        abort();
    free(buf);
    return 0;
}

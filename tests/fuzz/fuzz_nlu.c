/* libFuzzer target: the assistant's message understanding on arbitrary
 * bytes (valid or not UTF-8), with a fixed vocabulary and varying "today".
 * Built and run for a bounded time by scripts/test (tests/fuzz/run). */
#include "core/text.h"
#include "assistant/assistant_nlu.h"

#include <stdint.h>
#include <string.h>

static const char *merchant_keys[] = {"carrefour", "netflix", "sncf", "cafe de flore", "carrefour market", "x"};
static const char *merchant_names[] = {"Carrefour", "Netflix", "SNCF", "Café de Flore", "Carrefour Market", "X"};
static const char *category_keys[] = {"alimentation", "sante", "bricolage", ""};
static const char *category_names[] = {"Alimentation", "Santé", "Bricolage", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct nlu_vocab vocab = {merchant_keys, merchant_names, 6, category_keys, category_names, 4};
    static const int todays[][3] = {{2026, 11, 15}, {2024, 2, 29}, {2026, 1, 1}, {1900, 1, 1}, {2999, 12, 31}};
    struct nlu_result r;
    const int *t = todays[size % 5];
    nlu_understand((const char *)data, size, t[0], t[1], t[2], &vocab, size % 2 ? "en" : "fr", NULL, &r);
    /* The same message as a follow-up of itself (the conversation path). */
    struct nlu_result again;
    nlu_understand((const char *)data, size, t[0], t[1], t[2], &vocab, "fr", &r, &again);
    if (again.intent == NULL || again.confidence < 0.5 || again.confidence > 0.99 ||
        (!again.period_invalid && !again.period_unrecognised && strlen(again.from) != 10))
        __builtin_trap();
    /* Invariants every answer relies on. */
    if (r.intent == NULL || strlen(r.lang) != 2)
        __builtin_trap();
    if (!r.period_invalid && !r.period_unrecognised && strlen(r.from) != 10)
        __builtin_trap();
    if (r.confidence < 0.5 || r.confidence > 0.99)
        __builtin_trap();
    /* What goes back to the client and into PostgreSQL must be UTF-8 when the input was. */
    if (text_is_utf8((const char *)data, size) &&
        (!text_is_utf8(r.merchant_phrase, strlen(r.merchant_phrase)) ||
         !text_is_utf8(r.merchant, strlen(r.merchant)) || !text_is_utf8(r.category, strlen(r.category))))
        __builtin_trap();
    return 0;
}

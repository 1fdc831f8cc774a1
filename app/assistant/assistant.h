/* assistant: POST /api/v1/conversation/chat. A French or English question
 * is understood deterministically (period, intent, lexicon), answered from
 * the user's transactions with KPI cards, Chart.js chart specs, insights and
 * a short text in the user's language, and stored as a conversation.
 * Rules, thresholds and the exact meaning of every answer: docs/assistant.md. */
#ifndef TALLY_ASSISTANT_H
#define TALLY_ASSISTANT_H

#include <stddef.h>

#include "../core/module.h"
#include "../core/router.h"

extern const struct tally_module assistant_module;

#endif

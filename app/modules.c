/* modules: THE module table. Every domain plugs in here with one line;
 * this is the only file that includes every domain's header. Order is
 * registration order: routes are matched in it, request filters run in it
 * (auth first), job kinds and cache namespaces are numbered by it. */
#include "core/module.h"
#include "jobs/jobs_http.h"
#include "admin/admin.h"
#include "admin/admin_auth.h"
#include "assistant/assistant.h"
#include "datasets/datasets_http.h"
#include "learning/learning.h"
#include "modules/auth.h"
#include "modules/context.h"
#include "modules/debug.h"
#include "modules/finance.h"
#include "modules/health.h"
#include "modules/metrics.h"
#include "modules/precompute.h"
#include "modules/profiles.h"
#include "opportunities/opportunities_http.h"
#include "modules/seed_cli.h"
#include "ratelimit/ratelimit.h"

#include <stddef.h>

const struct tally_module *const tally_modules[] = {
    &auth_module,           /* the request filter for tokens: first */
    &ratelimit_module,      /* per-token limits: needs auth's identity */
    &health_module,
    &finance_module,
    &assistant_module,
    &metrics_module,
    &jobs_module,
    &jobs_debug_module,
    &profiles_module,
    &precompute_module,
    &context_module,
    &learning_module,
    &admin_auth_module,
    &admin_module,
    &opportunities_module,
    &datasets_module,
    &debug_module,
    &seed_module,
    NULL,
};
_Static_assert(sizeof(tally_modules) / sizeof(tally_modules[0]) <= MODULE_MAX + 1, "raise MODULE_MAX");

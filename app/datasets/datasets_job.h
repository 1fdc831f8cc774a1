/* datasets_job: the job kind `datasets_retention` (daily, sql/008). */
#ifndef TALLY_DATASETS_JOB_H
#define TALLY_DATASETS_JOB_H

struct jobs_ctx;
struct json_object;

/* Payload {"keep": N} overrides dataset_keep_versions (tests, one-off runs). */
int datasets_job_retention(struct jobs_ctx *jctx, struct json_object *payload);

#endif

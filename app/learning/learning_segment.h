/* learning_segment: the seniority segment of a job title, `intern`,
 * `junior`, `senior` or `default`. Pure and dependency-free apart from
 * core/text's folding (no allocation, no locale, no I/O), so any domain
 * (learning's sync, the opportunities' seniority) can call it.
 *
 * The title is folded (text_fold: lower case, accents removed), cut into
 * whole words at every byte that is not an ASCII letter or digit
 * (punctuation, hyphens, slashes, parentheses, apostrophes; bytes >= 0x80
 * that folding kept stay inside words), and the words are looked up in
 * four tiers, the first tier with a match wins:
 *   1. strong senior: senior, sr, snr, principal, confirme(e), experimente(e)
 *   2. intern: intern, internship, trainee, stagiaire, stage, alternant(e),
 *      alternance, apprenti(e), apprentice, apprenticeship, apprentissage
 *   3. junior: junior, jr, jnr, debutant(e), graduate, entry level,
 *      new grad, jeune diplome(e)
 *   4. role-senior: lead, head, chef, staff, expert(e)
 * (plurals of the above count too). Exclusions, where the word is not a
 * seniority: "senior living|care|citizen(s)" and plural "seniors" (the
 * elderly), "lead generation", "expert comptable" (a profession), "stage"
 * after "early|late|multi" or before "manager" (a phase, the theatre), and
 * French "interne" (internal). docs/learning.md gives the reasons. */
#ifndef TALLY_LEARNING_SEGMENT_H
#define TALLY_LEARNING_SEGMENT_H

#include <stddef.h>

/* Bytes of a title looked at; the rest is ignored (sync refuses longer). */
#define LEARNING_SEGMENT_TITLE_BYTES 512
/* Words looked at; the rest is ignored. */
#define LEARNING_SEGMENT_WORDS_MAX 64

enum learning_segment {
    LEARNING_SEGMENT_DEFAULT = 0,
    LEARNING_SEGMENT_INTERN,
    LEARNING_SEGMENT_JUNIOR,
    LEARNING_SEGMENT_SENIOR,
    LEARNING_SEGMENT_COUNT
};

/* The segment of title[0..len). */
enum learning_segment learning_segment_derive(const char *title, size_t len);
/* "default", "intern", "junior", "senior"; NULL for an out-of-range value. */
const char *learning_segment_name(enum learning_segment s);
/* The segment name of a NUL-terminated title; NULL when title is NULL (no
 * job: no segment). Returns a static string. */
const char *learning_segment_of(const char *title);

#endif

/* clock: the one clock of tally. Monotonic time for durations, deadlines
 * and back-offs (never goes back, unaffected by NTP steps), wall-clock
 * milliseconds for what is shown or stored as a date. */
#ifndef TALLY_CLOCK_H
#define TALLY_CLOCK_H

#include <stdint.h>

uint64_t clock_us(void);        /* monotonic, microseconds */
uint64_t clock_mono_ms(void);   /* monotonic, whole milliseconds */
double clock_ms(void);          /* monotonic, milliseconds with a fraction (durations in logs and answers) */
uint64_t clock_wall_ms(void);   /* Unix time, milliseconds */

#endif

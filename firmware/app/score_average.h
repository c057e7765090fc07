/* Detection from the model's int8 scores: the average of the last `count` score vectors
 * per label; a keyword label is detected when its average reaches `threshold` (in the
 * output's quantized units) and no detection happened in the last `suppress` inferences. */
#ifndef KWS_APP_SCORE_AVERAGE_H_
#define KWS_APP_SCORE_AVERAGE_H_

#include <stdint.h>

typedef struct {
  int num_labels;
  int count;                     /* score vectors averaged */
  int32_t threshold;             /* quantized score the average must reach */
  int suppress;                  /* inferences without a new detection after one */
  const uint8_t* keyword_mask;   /* 1 for labels that may be detected (not silence/unknown) */
  int8_t* history;               /* count * num_labels bytes of caller-owned storage */
  int32_t* sums;                 /* num_labels running sums, caller-owned */
} KwsScoreAverageConfig;

typedef struct {
  KwsScoreAverageConfig config;
  int next;          /* history slot the next vector replaces */
  int filled;        /* vectors in the history (<= count) */
  int since_detect;  /* inferences since the last detection */
} KwsScoreAverageState;

void kws_score_average_init(KwsScoreAverageState* state, const KwsScoreAverageConfig* config);
void kws_score_average_reset(KwsScoreAverageState* state);

/* Adds one score vector.  Returns the detected label (its average in *average) or -1.
 * The average is the sum over the history divided by its length, truncated toward zero. */
int kws_score_average_update(KwsScoreAverageState* state, const int8_t* scores, int32_t* average);

#endif /* KWS_APP_SCORE_AVERAGE_H_ */

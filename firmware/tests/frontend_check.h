/* Data a frontend_check build links in: baked frontend configs and audio clips, generated
 * per test run by tests/test_arm_equivalence.py (kws.firmware_project.emit_c). */
#ifndef KWS_FRONTEND_CHECK_H_
#define KWS_FRONTEND_CHECK_H_

#include <stdint.h>

#include "micro_frontend/micro_frontend.h"
#if KWS_CHECK_MFCC
#include "mfcc/mfcc.h"
#endif

extern const KwsMicroFrontendConfig* const check_micro_configs[];
extern const int check_num_micro_configs;
#if KWS_CHECK_MFCC
extern const KwsMfccConfig* const check_mfcc_configs[];
extern const int check_num_mfcc_configs;
#endif

extern const int16_t* const check_clips[];
extern const uint32_t check_clip_lengths[];
extern const int check_num_clips;

/* Samples are streamed in chunks of these sizes, cycling, to exercise buffering. */
extern const uint32_t check_chunk_sizes[];
extern const int check_num_chunk_sizes;

#endif /* KWS_FRONTEND_CHECK_H_ */

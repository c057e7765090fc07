#include "kernels/conv_2d_inplace.h"

#include "kernels/simd.h"

/* staging[0..n) = src[0..n): whole words while four bytes remain (one LDR + STR each on
 * the M4; staging is word-aligned), then bytes. */
static void stage(const int8_t* src, int n, int8_t* staging) {
  int32_t* words = (int32_t*)(void*)staging;
  int k = 0;
  for (; k + 4 <= n; k += 4) *words++ = kws_load_int8x4(src + k);
  for (; k < n; ++k) staging[k] = src[k];
}

static void run_block(const KwsConv2DInPlaceParams* p, const KwsConv2DParams* conv,
                      int first, int count, int8_t* data) {
  stage(data + first * p->input_depth, count * p->input_depth, p->staging);
  kws_conv_2d(conv, p->staging, data + first * p->output_depth);
}

void kws_conv_2d_pointwise_inplace(const KwsConv2DInPlaceParams* p, int8_t* data) {
  const int block = p->block_pixels;
  const int full = p->num_pixels / block * block; /* pixels in whole blocks */
  int first;
  if (p->output_depth <= p->input_depth && block == KWS_CONV_2D_PIXELS) {
    /* No staging needed: kws_conv_2d widens a group of KWS_CONV_2D_PIXELS pixels into its
     * scratch before it writes any output of the group, and the group's outputs end at or
     * before the next group's first input. One pass over the buffer seen as one row. */
    kws_conv_2d_pointwise_row(p->block, p->num_pixels, data, data);
    return;
  }
  if (p->output_depth <= p->input_depth) {
    for (first = 0; first < full; first += block) run_block(p, p->block, first, block, data);
    if (full < p->num_pixels) run_block(p, p->tail, full, p->num_pixels - full, data);
  } else {
    if (full < p->num_pixels) run_block(p, p->tail, full, p->num_pixels - full, data);
    for (first = full - block; first >= 0; first -= block) {
      run_block(p, p->block, first, block, data);
    }
  }
}

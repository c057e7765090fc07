#include "kernels/depthwise_conv_2d_inplace.h"

#include "kernels/depthwise_lines.h"
#include "kernels/quantize.h"
#include "kernels/simd.h"

/* 3x3 stride-1 filters (DS-CNN) use a transposed plane: channel c stored column by
 * column, each column plane_height + 1 values long. The outputs of one column then sit
 * along contiguous memory, so the two-outputs-per-iteration SMLAD loop runs over
 * output_height outputs (DS-CNN-S: 25) instead of output_width (5), and the tap pairs
 * of a filter column (fy 0-1, fy 2 + a zero tap) pair with vertical neighbours. */
static int uses_columns(const KwsDepthwiseConv2DParams* p) {
  return p->filter_height == 3 && p->filter_width == 3 && p->stride_height == 1 &&
         p->stride_width == 1;
}

/* Channel c of data into the plane as (x - input zero point); row-major, or column-major
 * with column length `column` when column > 0. The plane's border (taps over the
 * padding) was zeroed once and is never written, so those taps add nothing, as TFLM skips
 * them. */
static KWS_NOINLINE void load_channel(const KwsDepthwiseConv2DParams* p, const int8_t* data,
                                      int c, int column, int16_t* plane) {
  const int depth = p->input_depth;
  const int32_t offset = p->input_offset;
  const int width = p->plane_width;
  /* Input rows / columns beyond the last tap any output reads are not needed. */
  const int rows = p->input_height < p->plane_height - p->padding_top
                       ? p->input_height : p->plane_height - p->padding_top;
  const int cols = p->input_width < width - p->padding_left ? p->input_width
                                                            : width - p->padding_left;
  const int row_step = p->input_width * depth;
  int iy, ix;
  if (column > 0) {
    for (ix = 0; ix < cols; ++ix) {
      const int8_t* src = data + ix * depth + c;
      int16_t* dst = plane + (ix + p->padding_left) * column + p->padding_top;
      int16_t* const end = dst + rows;
      for (; dst + 2 <= end; dst += 2, src += 2 * row_step) {
        dst[0] = (int16_t)(src[0] + offset);
        dst[1] = (int16_t)(src[row_step] + offset);
      }
      if (dst != end) *dst = (int16_t)(*src + offset);
    }
    return;
  }
  for (iy = 0; iy < rows; ++iy) {
    const int8_t* src = data + iy * row_step + c;
    int16_t* dst = plane + (iy + p->padding_top) * width + p->padding_left;
    for (ix = 0; ix < cols; ++ix, src += depth) dst[ix] = (int16_t)(*src + offset);
  }
}

/* Accumulators of output row oy of channel c into acc[output_width] (any filter on the
 * row-major plane). */
static void accumulate_row(const KwsDepthwiseConv2DParams* p, const int16_t* plane, int c,
                           int oy, int32_t* acc) {
  const int pairs = p->filter_pairs;
  const int filter_height = p->filter_height;
  const int32_t* w = p->filter + c * filter_height * pairs;
  const int32_t bias = p->bias[c];
  const int width = p->plane_width;
  const int out_w = p->output_width;
  const int col_step = p->stride_width;
  const int16_t* r0 = plane + oy * p->stride_height * width;
  int ox, fy, j;
  for (ox = 0; ox < out_w; ++ox) {
    const int16_t* row = r0 + ox * col_step;
    const int32_t* taps = w;
    int32_t a = bias;
    for (fy = 0; fy < filter_height; ++fy, row += width, taps += pairs) {
      for (j = 0; j < pairs; ++j) a = kws_smlad(kws_load_int16x2(row + 2 * j), taps[j], a);
    }
    acc[ox] = a;
  }
}

/* Requantizes count accumulators of channel c into out, step bytes apart. A separate pass
 * from the multiply-accumulates: together they need more registers than the M4 has. */
static KWS_NOINLINE void store_line(const KwsDepthwiseConv2DParams* p, const int32_t* acc,
                                    int count, int c, int8_t* out, int step) {
  const int32_t multiplier = p->output_multiplier[c];
  const int shift = (int)p->output_shift[c];
  const int32_t offset = p->output_offset;
  const int32_t act_min = p->activation_min, act_max = p->activation_max;
  const int32_t* const end = acc + count;
  if (p->fast_requantize && act_min == -128 && act_max == 127) {
    /* No fused activation narrower than int8 (DS-CNN's ReLU outputs): one saturation. */
    const int32_t rounding = p->output_rounding[c];
    const int right_shift = -shift;
    if (right_shift <= 22) {
      /* The offset folded into the rounding term: adding offset * 2^right_shift before
       * the arithmetic shift adds exactly offset after it, and with |v| <= 2^30 (the
       * compiler's fast_requantize bound) v + 2^21 + 128 * 2^22 + 1 cannot overflow. */
      const int32_t folded = rounding + (int32_t)((uint32_t)offset << right_shift);
      for (; acc != end; ++acc, out += step) {
        const int32_t v = kws_smmulr((int32_t)((uint32_t)*acc << 1), multiplier);
        *out = kws_saturate_int8((v + folded + (v >> 31)) >> right_shift);
      }
      return;
    }
    for (; acc != end; ++acc, out += step) {
      *out = kws_saturate_int8(kws_requantize_fast(*acc, multiplier, right_shift, rounding) +
                               offset);
    }
  } else if (p->fast_requantize) {
    const int32_t rounding = p->output_rounding[c];
    const int right_shift = -shift;
    for (; acc != end; ++acc, out += step) {
      *out = kws_clamp_output(kws_requantize_fast(*acc, multiplier, right_shift, rounding),
                              offset, act_min, act_max);
    }
  } else {
    for (; acc != end; ++acc, out += step) {
      *out = kws_requantize(*acc, multiplier, shift, offset, act_min, act_max);
    }
  }
}

/* Filter of channel c for the transposed plane: per filter column fx, the words
 * (tap(0,fx), tap(1,fx)) and (tap(2,fx), 0), from the row-major pairs the compiler packs
 * ((tap(fy,0), tap(fy,1)), (tap(fy,2), 0) per row fy). */
static void transpose_filter_3x3(const int32_t* w, int32_t* wt) {
  int16_t taps[3][3];
  int fy, fx;
  for (fy = 0; fy < 3; ++fy) {
    taps[fy][0] = (int16_t)(w[2 * fy] & 0xFFFF);
    taps[fy][1] = (int16_t)((uint32_t)w[2 * fy] >> 16);
    taps[fy][2] = (int16_t)(w[2 * fy + 1] & 0xFFFF);
  }
  for (fx = 0; fx < 3; ++fx) {
    wt[2 * fx] = (int32_t)((uint32_t)(uint16_t)taps[0][fx] |
                           ((uint32_t)(uint16_t)taps[1][fx] << 16));
    wt[2 * fx + 1] = (int32_t)(uint32_t)(uint16_t)taps[2][fx];
  }
}

#if defined(__ARM_FEATURE_DSP)
/* M4 path for 3x3 stride-1 filters with the full int8 output range and kws_requantize_fast
 * exact (DS-CNN's depthwise layers): the multiply-accumulates and the requantization of
 * two outputs run in one asm loop that writes int8 straight into the NHWC data, with no
 * accumulator buffer and no spills.
 * - Plane columns are KWS_DW_COLUMN values apart, so the filter's three columns are
 *   immediate offsets from one pointer (the registers go to the requantization). A pair
 *   of outputs from row y reads rows y..y + 4, so a column holds plane_height + 2 rows
 *   (the last of them read only for a second output that is not stored).
 * - The plane holds the raw int8 values; its border holds the input zero point, and the
 *   bias absorbs input_offset * sum(taps): the same sums as (x - zero point) with zero
 *   padding, one add fewer per value.
 * - Taps and bias are doubled (|2 tap| <= 256 fits an int16 half): the accumulator is
 *   2 * acc, which fits (|acc| < 2^30, the compiler's fast_requantize bound), and
 *   SMMULR(2 * acc, M) needs no shift. */
#define KWS_DW_COLUMN 32

/* Per channel: the doubled transposed tap words (see transpose_filter_3x3), the multiplier
 * and the rounding term with the output offset folded in (see store_line). */
typedef struct {
  int32_t taps[6];
  int32_t multiplier, rounding;
} FastChannel;

static int uses_fast_columns(const KwsDepthwiseConv2DParams* p) {
  const int plane_bytes =
      ((2 * (p->plane_height + 1) * p->plane_width + 3) / 4) * 4 +
      4 * (p->output_height > p->output_width ? p->output_height : p->output_width);
  int c;
  if (!uses_columns(p) || !p->fast_requantize || p->activation_min != -128 ||
      p->activation_max != 127 || p->plane_height + 2 > KWS_DW_COLUMN ||
      2 * KWS_DW_COLUMN * (p->output_width + 2) > plane_bytes) {
    return 0;
  }
  for (c = 0; c < p->output_depth; ++c) {
    if (p->output_multiplier[c] != 0 && -p->output_shift[c] > 22) return 0;
  }
  return 1;
}

/* Two outputs (rows y, y + 1 of one column; pl at plane row y of the first filter column,
 * then advanced one row pair) into a and b, requantized and saturated. */
#define KWS_DW_PAIR_ASM \
  "ldrd %[wa], %[wb], [%[ch], #0]\n\t"    \
  "ldrd %[x], %[x1], [%[pl]], #4\n\t"     \
  "smlad %[a], %[x], %[wa], %[bias]\n\t"  \
  "smlad %[a], %[x1], %[wb], %[a]\n\t"    \
  "ldr %[x], [%[pl], #-2]\n\t"            \
  "smlad %[b], %[x], %[wa], %[bias]\n\t"  \
  "ldr %[x], [%[pl], #2]\n\t"             \
  "smlad %[b], %[x], %[wb], %[b]\n\t"     \
  "ldrd %[wa], %[wb], [%[ch], #8]\n\t"    \
  "ldrd %[x], %[x1], [%[pl], #60]\n\t"    \
  "smlad %[a], %[x], %[wa], %[a]\n\t"     \
  "smlad %[a], %[x1], %[wb], %[a]\n\t"    \
  "ldr %[x], [%[pl], #62]\n\t"            \
  "smlad %[b], %[x], %[wa], %[b]\n\t"     \
  "ldr %[x], [%[pl], #66]\n\t"            \
  "smlad %[b], %[x], %[wb], %[b]\n\t"     \
  "ldrd %[wa], %[wb], [%[ch], #16]\n\t"   \
  "ldrd %[x], %[x1], [%[pl], #124]\n\t"   \
  "smlad %[a], %[x], %[wa], %[a]\n\t"     \
  "smlad %[a], %[x1], %[wb], %[a]\n\t"    \
  "ldr %[x], [%[pl], #126]\n\t"           \
  "smlad %[b], %[x], %[wa], %[b]\n\t"     \
  "ldr %[x], [%[pl], #130]\n\t"           \
  "smlad %[b], %[x], %[wb], %[b]\n\t"     \
  "ldrd %[wa], %[wb], [%[ch], #24]\n\t"   \
  "smmulr %[a], %[a], %[wa]\n\t"          \
  "add %[x], %[a], %[wb]\n\t"             \
  "add %[a], %[x], %[a], asr #31\n\t"     \
  "asr %[a], %[a], %[shift]\n\t"          \
  "ssat %[a], #8, %[a]\n\t"               \
  "smmulr %[b], %[b], %[wa]\n\t"          \
  "add %[x], %[b], %[wb]\n\t"             \
  "add %[b], %[x], %[b], asr #31\n\t"     \
  "asr %[b], %[b], %[shift]\n\t"          \
  "ssat %[b], #8, %[b]\n\t"              

#define KWS_DW_PAIR_OPERANDS                                                            \
  : [pl] "+r"(pl), [out] "+r"(out), [a] "=&r"(a), [b] "=&r"(b), [x] "=&r"(x),           \
    [x1] "=&r"(x1), [wa] "=&r"(wa), [wb] "=&r"(wb)                                      \
  : [ch] "r"(ch), [bias] "r"(bias), [shift] "r"(shift), [step] "r"(step), [end] "r"(end) \
  : "cc", "memory"

/* Stores a pair's outputs (rows y, y + 1) and moves out two rows on. */
#define KWS_DW_STORE_PAIR_ASM                    \
  "strb %[b], [%[out], %[step]]\n\t"             \
  "strb %[a], [%[out]]\n\t"                      \
  "add %[out], %[out], %[step], lsl #1\n\t"

/* The count outputs of one column, step bytes apart from out: two pairs per loop step,
 * then a last pair, then a last row. */
static KWS_NOINLINE void fast_column(const int16_t* pl, const FastChannel* ch, int32_t bias,
                                     int32_t shift, int count, int8_t* out, int32_t step) {
  const int16_t* end = pl + (count & ~3);
  int32_t a, b, x, x1, wa, wb;
  if (pl != end) {
    __asm__ volatile("1:\n\t" KWS_DW_PAIR_ASM KWS_DW_STORE_PAIR_ASM KWS_DW_PAIR_ASM
                     KWS_DW_STORE_PAIR_ASM
                     "cmp %[pl], %[end]\n\t"
                     "bne 1b\n\t" KWS_DW_PAIR_OPERANDS);
  }
  if (count & 2) {
    __asm__ volatile(KWS_DW_PAIR_ASM KWS_DW_STORE_PAIR_ASM KWS_DW_PAIR_OPERANDS);
  }
  if (count & 1) { /* the last row alone: its pair's second output is not stored */
    __asm__ volatile(KWS_DW_PAIR_ASM "strb %[a], [%[out]]\n\t" KWS_DW_PAIR_OPERANDS);
  }
}

/* Two int8 values, step bytes apart, as one packed int16 pair stored at dst. */
#define KWS_DW_FILL_PAIR_ASM                  \
  "ldrsb %[lo], [%[src]]\n\t"                 \
  "ldrsb %[hi], [%[src], %[step]]\n\t"        \
  "add %[src], %[src], %[step], lsl #1\n\t"   \
  "pkhbt %[lo], %[lo], %[hi], lsl #16\n\t"    \
  "str %[lo], [%[dst]], #4\n\t"

/* Channel c of data into the fast plane as raw values, columns KWS_DW_COLUMN apart: two
 * values per (unaligned) word store. */
static KWS_NOINLINE void fill_columns_raw(const KwsDepthwiseConv2DParams* p,
                                          const int8_t* data, int c, int16_t* plane) {
  const int depth = p->input_depth;
  const int rows = p->input_height < p->plane_height - p->padding_top
                       ? p->input_height : p->plane_height - p->padding_top;
  const int cols = p->input_width < p->plane_width - p->padding_left
                       ? p->input_width : p->plane_width - p->padding_left;
  const int32_t step = p->input_width * depth;
  int ix;
  for (ix = 0; ix < cols; ++ix) {
    const int8_t* src = data + ix * depth + c;
    int16_t* dst = plane + (ix + p->padding_left) * KWS_DW_COLUMN + p->padding_top;
    int16_t* const quad_end = dst + (rows & ~3);
    int32_t lo, hi;
    if (dst != quad_end) {
      __asm__ volatile("1:\n\t" KWS_DW_FILL_PAIR_ASM KWS_DW_FILL_PAIR_ASM
                       "cmp %[dst], %[end]\n\t"
                       "bne 1b\n\t"
                       : [src] "+r"(src), [dst] "+r"(dst), [lo] "=&r"(lo), [hi] "=&r"(hi)
                       : [step] "r"(step), [end] "r"(quad_end)
                       : "cc", "memory");
    }
    if (rows & 2) {
      __asm__ volatile(KWS_DW_FILL_PAIR_ASM
                       : [src] "+r"(src), [dst] "+r"(dst), [lo] "=&r"(lo), [hi] "=&r"(hi)
                       : [step] "r"(step)
                       : "memory");
    }
    if (rows & 1) *dst = *src;
  }
}

static void depthwise_fast_columns(const KwsDepthwiseConv2DParams* p, int8_t* data) {
  int16_t* plane = (int16_t*)(void*)p->scratch;
  const int plane_size = KWS_DW_COLUMN * (p->output_width + 2);
  const int16_t zero_point = (int16_t)(-p->input_offset);
  const int depth = p->output_depth;
  const int out_h = p->output_height, out_w = p->output_width;
  const int32_t step = out_w * depth;
  int c, ox, i;
  for (i = 0; i < plane_size; ++i) plane[i] = zero_point;
  for (c = 0; c < depth; ++c) {
    FastChannel ch;
    int32_t sum = 0, bias, shift;
    transpose_filter_3x3(p->filter + 6 * c, ch.taps);
    for (i = 0; i < 6; ++i) {
      const int32_t lo = (int16_t)(ch.taps[i] & 0xFFFF), hi = ch.taps[i] >> 16;
      sum += lo + hi;
      ch.taps[i] = (int32_t)(((uint32_t)(2 * lo) & 0xFFFFu) | ((uint32_t)(2 * hi) << 16));
    }
    /* Unsigned: only the final sums are bounded, these terms may wrap (exactly). */
    bias = (int32_t)(2u * ((uint32_t)p->bias[c] + (uint32_t)p->input_offset * (uint32_t)sum));
    ch.multiplier = p->output_multiplier[c];
    if (ch.multiplier == 0) { /* v = 0: the output is the output offset */
      shift = 0;
      ch.rounding = p->output_offset;
    } else {
      shift = -p->output_shift[c];
      ch.rounding = p->output_rounding[c] + (int32_t)((uint32_t)p->output_offset << shift);
    }
    fill_columns_raw(p, data, c, plane);
    for (ox = 0; ox < out_w; ++ox) {
      fast_column(plane + ox * KWS_DW_COLUMN, &ch, bias, shift, out_h, data + ox * depth + c,
                  step);
    }
  }
}
#endif

void kws_depthwise_conv_2d_inplace(const KwsDepthwiseConv2DParams* p, int8_t* data) {
  /* The arena is word-aligned and every scratch area starts 16-byte aligned. */
  int16_t* plane = (int16_t*)(void*)p->scratch;
  const int column = p->plane_height + 1;
  const int plane_size = column * p->plane_width;
  int32_t* acc = (int32_t*)(void*)(p->scratch + ((2 * plane_size + 3) / 4) * 4);
  const int depth = p->output_depth;
  const int out_h = p->output_height, out_w = p->output_width;
  int c, ox, i;
#if defined(__ARM_FEATURE_DSP)
  if (uses_fast_columns(p)) {
    depthwise_fast_columns(p, data);
    return;
  }
#endif
  for (i = 0; i < plane_size; ++i) plane[i] = 0;
  if (uses_columns(p)) {
    for (c = 0; c < depth; ++c) {
      int32_t wt[6];
      /* Channel c is read completely before any of its bytes is overwritten. */
      load_channel(p, data, c, column, plane);
      transpose_filter_3x3(p->filter + 6 * c, wt);
      for (ox = 0; ox < out_w; ++ox) {
        const int16_t* l0 = plane + ox * column;
        kws_depthwise_accumulate_3_lines(l0, l0 + column, l0 + 2 * column, wt, p->bias[c],
                                         out_h, acc);
        store_line(p, acc, out_h, c, data + ox * depth + c, out_w * depth);
      }
    }
    return;
  }
  for (c = 0; c < depth; ++c) {
    load_channel(p, data, c, 0, plane);
    kws_depthwise_plane_rows(p, plane, c, acc, data);
  }
}

void kws_depthwise_plane_rows(const KwsDepthwiseConv2DParams* p, const int16_t* plane, int c,
                              int32_t* acc, int8_t* output) {
  const int depth = p->output_depth;
  const int out_w = p->output_width;
  int oy;
  for (oy = 0; oy < p->output_height; ++oy) {
    accumulate_row(p, plane, c, oy, acc);
    store_line(p, acc, out_w, c, output + oy * out_w * depth + c, depth);
  }
}

#include "kernels/conv_2d.h"

#include "kernels/quantize.h"
#include "kernels/simd.h"

/* Widened inputs: for every group of 4 patch values (v0..v3) and every pixel slot, two
 * words [v0 v2] and [v1 v3] (int16 halves) -- SXTB16's natural output, which SMLAD pairs
 * with the filter word's own SXTB16 halves. Layout [group][slot][2]. */
static void widen_pixel(const int8_t* values, int count, int patch_size, int slot,
                        int32_t* words) {
  int k = 0;
  int32_t* out = words + 2 * slot;
#if defined(__ARM_FEATURE_DSP)
  /* Two groups per step, each one LDR, two SXTB16 and one STRD (GCC: two STRs and the
   * loop test per group). */
  const int paired = count & ~7;
  const int8_t* const pair_end = values + paired;
  if (values != pair_end) {
    int32_t v, even, odd;
    __asm__ volatile("1:\n\t"
                     "ldr %[v], [%[src]], #4\n\t"
                     "sxtb16 %[even], %[v]\n\t"
                     "sxtb16 %[odd], %[v], ror #8\n\t"
                     "strd %[even], %[odd], [%[out]], #32\n\t"
                     "ldr %[v], [%[src]], #4\n\t"
                     "sxtb16 %[even], %[v]\n\t"
                     "sxtb16 %[odd], %[v], ror #8\n\t"
                     "strd %[even], %[odd], [%[out]], #32\n\t"
                     "cmp %[src], %[end]\n\t"
                     "bne 1b\n\t"
                     : [src] "+r"(values), [out] "+r"(out), [v] "=&r"(v), [even] "=&r"(even),
                       [odd] "=&r"(odd)
                     : [end] "r"(pair_end)
                     : "cc", "memory");
    count -= paired; /* values and out are past the paired groups */
    patch_size -= paired;
  }
#endif
  for (; k + 4 <= count; k += 4) {
    const int32_t v = kws_load_int8x4(values + k);
    out[0] = kws_sxtb16(v);
    out[1] = kws_sxtb16_ror8(v);
    out += 2 * KWS_CONV_2D_PIXELS;
  }
  if (k < patch_size) { /* tail: the filter row is zero there, the values must be defined */
    int32_t v = 0;
    int j;
    for (j = 0; k + j < count; ++j) v |= (int32_t)((uint32_t)(uint8_t)values[k + j] << (8 * j));
    out[0] = kws_sxtb16(v);
    out[1] = kws_sxtb16_ror8(v);
  }
}

/* patch[0..n) = src[0..n), or the padding value where src is NULL. Whole words while
 * four bytes remain and patch is word-aligned (the M4 loads src unaligned). */
static void copy_taps(int8_t* patch, const int8_t* src, int8_t pad, int n) {
  int k = 0;
  if (((uintptr_t)patch & 3) == 0) {
    int32_t* words = (int32_t*)(void*)patch;
    if (src) {
      for (; k + 4 <= n; k += 4) *words++ = kws_load_int8x4(src + k);
    } else {
      const int32_t fill = (int32_t)(0x01010101u * (uint8_t)pad);
      for (; k + 4 <= n; k += 4) *words++ = fill;
    }
  }
  for (; k < n; ++k) patch[k] = src ? src[k] : pad;
}

/* Copies the receptive field of one output pixel into patch ([fh][fw][depth], the filter's
 * own layout): the taps of a filter row inside the input are one contiguous run of the
 * NHWC input, [first, end) of the row. Padding taps get the input zero point:
 * w * (zp + input_offset) == 0, so the folded bias stays exact at the borders, as TFLM's
 * skipped taps. Parameters are read into locals first: the int8 stores could alias them. */
static KWS_NOINLINE void im2col_pixel(const KwsConv2DParams* p, const int8_t* input,
                                      int pixel, int8_t* patch) {
  const int depth = p->input_depth;
  const int filter_height = p->filter_height, filter_width = p->filter_width;
  const int input_height = p->input_height, input_width = p->input_width;
  const int row_taps = filter_width * depth;
  const int8_t pad = (int8_t)(-p->input_offset);
  const int in_y0 = (pixel / p->output_width) * p->stride_height - p->padding_top;
  const int in_x0 = (pixel % p->output_width) * p->stride_width - p->padding_left;
  const int first = (in_x0 < 0 ? -in_x0 : 0) * depth;
  const int end = (in_x0 + filter_width > input_width ? input_width - in_x0 : filter_width) *
                  depth;
  int fy, k;
  for (fy = 0; fy < filter_height; ++fy, patch += row_taps) {
    const int in_y = in_y0 + fy;
    const int8_t* row;
    if (in_y < 0 || in_y >= input_height || end <= first) {
      copy_taps(patch, 0, pad, row_taps);
      continue;
    }
    row = input + (in_y * input_width + (in_x0 > 0 ? in_x0 : 0)) * depth;
    if (first == 0 && end == row_taps) {
      copy_taps(patch, row, pad, row_taps);
      continue;
    }
    /* A row cut by the left or right border: one pass (separate copies of a few bytes
     * each cost more in calls than they copy). row is the first tap inside the input. */
    for (k = 0; k < row_taps; ++k) patch[k] = k >= first && k < end ? row[k - first] : pad;
  }
}

/* acc[s] += patch(slot s) . filter row, for the KWS_CONV_2D_PIXELS slots: each weight word
 * (4 taps, two SXTB16) feeds 8 SMLADs, 16 multiply-accumulates. */
#if defined(__ARM_FEATURE_DSP)
/* The 16 multiply-accumulates of one group once its two tap words (we, w) are in
 * registers and the first pixel pair's widened inputs are loaded. */
#define KWS_CONV_GROUP_SMLADS                               \
  "smlad %[a0], %[x0], %[we], %[a0]\n\t"                    \
  "smlad %[a0], %[x1], %[w], %[a0]\n\t"                     \
  "smlad %[a1], %[x2], %[we], %[a1]\n\t"                    \
  "smlad %[a1], %[x3], %[w], %[a1]\n\t"                     \
  "ldmia %[xp]!, {%[x0], %[x1], %[x2], %[x3]}\n\t"          \
  "smlad %[a2], %[x0], %[we], %[a2]\n\t"                    \
  "smlad %[a2], %[x1], %[w], %[a2]\n\t"                     \
  "smlad %[a3], %[x2], %[we], %[a3]\n\t"                    \
  "smlad %[a3], %[x3], %[w], %[a3]\n\t"

/* One group: LDM brings a pixel pair's widened taps in one instruction (15 instructions
 * for 16 MACs; GCC emits eight single loads from the C version). */
#define KWS_CONV_GROUP_ASM                                  \
  "ldr %[w], [%[wp]], #4\n\t"                               \
  "ldmia %[xp]!, {%[x0], %[x1], %[x2], %[x3]}\n\t"          \
  "sxtb16 %[we], %[w]\n\t"                                  \
  "sxtb16 %[w], %[w], ror #8\n\t"                           \
  KWS_CONV_GROUP_SMLADS

/* The same group over a pre-widened filter (filter_widened): the two SXTB16 words come
 * from flash in one LDRD, 11 instructions for 16 MACs. */
#define KWS_CONV_GROUP_WIDENED_ASM                          \
  "ldrd %[we], %[w], [%[wp]], #8\n\t"                        \
  "ldmia %[xp]!, {%[x0], %[x1], %[x2], %[x3]}\n\t"          \
  KWS_CONV_GROUP_SMLADS

static KWS_NOINLINE void dot_group(const int32_t* wp, const int32_t* xp, int groups,
                                   int32_t* acc) {
  /* LDM needs its registers in ascending order: pin them (r7 stays free for a frame
   * pointer). */
  register int32_t x0 __asm__("r4");
  register int32_t x1 __asm__("r5");
  register int32_t x2 __asm__("r6");
  register int32_t x3 __asm__("r8");
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int32_t w, we;
  const int32_t* const w_end = wp + groups;
  for (; groups & 3; --groups) {
    __asm__ volatile(KWS_CONV_GROUP_ASM
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                       [wp] "+r"(wp), [xp] "+r"(xp), [w] "=&r"(w), [we] "=&r"(we),
                       [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3)
                     :
                     : "memory");
  }
  if (wp != w_end) {
    /* Four groups per iteration: the loop test costs 2 instructions per 64 MACs. */
    __asm__ volatile("1:\n\t" KWS_CONV_GROUP_ASM KWS_CONV_GROUP_ASM KWS_CONV_GROUP_ASM
                     KWS_CONV_GROUP_ASM
                     "cmp %[wp], %[w_end]\n\t"
                     "bne 1b\n\t"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                       [wp] "+r"(wp), [xp] "+r"(xp), [w] "=&r"(w), [we] "=&r"(we),
                       [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3)
                     : [w_end] "r"(w_end)
                     : "cc", "memory");
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#else
static inline void dot_group(const int32_t* wp, const int32_t* xp, int groups,
                             int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int g;
  for (g = 0; g < groups; ++g) {
    const int32_t w = wp[g];
    const int32_t w_even = kws_sxtb16(w), w_odd = kws_sxtb16_ror8(w);
    a0 = kws_smlad(xp[0], w_even, a0);
    a0 = kws_smlad(xp[1], w_odd, a0);
    a1 = kws_smlad(xp[2], w_even, a1);
    a1 = kws_smlad(xp[3], w_odd, a1);
    a2 = kws_smlad(xp[4], w_even, a2);
    a2 = kws_smlad(xp[5], w_odd, a2);
    a3 = kws_smlad(xp[6], w_even, a3);
    a3 = kws_smlad(xp[7], w_odd, a3);
    xp += 2 * KWS_CONV_2D_PIXELS;
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#endif

/* conv_group when the compiler provided channel_terms (DS-CNN), on the M4: the whole
 * channel loop is one asm block, so the accumulators stay in registers from the bias to
 * the SSAT and nothing spills. Its inner loop needs 13 registers (4 accumulators, 4 LDM
 * targets, 2 tap words, 2 pointers and the row end); what the channel loop needs besides
 * lives in a FastLoop on the stack. A short group (count < KWS_CONV_2D_PIXELS) repeats its
 * last pixel, and the repeats store to that pixel's output, the same value. */
#if defined(__ARM_FEATURE_DSP)
typedef struct {
  const int32_t* words;  /* the widened inputs */
  int32_t lead_bytes;    /* filter bytes of the first groups % 4 groups (one per step) */
  int32_t quad_bytes;    /* filter bytes of the rest, four groups per step */
  const int32_t* terms;  /* channel_terms of the current channel */
  int8_t* out;           /* output of the current channel, first pixel */
  const int8_t* out_end; /* out of the first pixel past the last channel */
  int32_t slot_offset[3]; /* output bytes of pixel slots 1..3 from slot 0 */
} FastLoop;

/* Requantizes accumulator a with multiplier m, folded rounding r and right shift s (t is
 * scratch): kws_requantize_fast with the output offset in r, then SSAT. */
#define KWS_CONV_REQUANTIZE(a, t, m, r, s)         \
  "lsl " a ", " a ", #1\n\t"                        \
  "smmulr " a ", " a ", " m "\n\t"                  \
  "add " t ", " a ", " r "\n\t"                     \
  "add " a ", " t ", " a ", asr #31\n\t"            \
  "asr " a ", " a ", " s "\n\t"                     \
  "ssat " a ", #8, " a "\n\t"

/* groups % 4 > 0: those first groups one at a time, then the rest (if any) four at a
 * time. */
#define KWS_CONV_LEAD_AND_QUADS(GROUP)                                                 \
  "ldr %[w_end], %[lead]\n\t"                                                          \
  "add %[w_end], %[wp], %[w_end]\n\t"                                                  \
  "1:\n\t" GROUP                                                                       \
  "cmp %[wp], %[w_end]\n\t"                                                            \
  "bne 1b\n\t"                                                                         \
  "ldr %[w_end], %[quad]\n\t"                                                          \
  "cmp %[w_end], #0\n\t"                                                               \
  "beq 4f\n\t"                                                                         \
  "add %[w_end], %[wp], %[w_end]\n\t"                                                  \
  "3:\n\t" GROUP GROUP GROUP GROUP                                                     \
  "cmp %[wp], %[w_end]\n\t"                                                            \
  "bne 3b\n\t"

/* groups a multiple of 4 (DS-CNN's pointwise layers): four at a time, no tests. */
#define KWS_CONV_QUADS(GROUP)                                                          \
  "ldr %[w_end], %[quad]\n\t"                                                          \
  "add %[w_end], %[wp], %[w_end]\n\t"                                                  \
  "3:\n\t" GROUP GROUP GROUP GROUP                                                     \
  "cmp %[wp], %[w_end]\n\t"                                                            \
  "bne 3b\n\t"

#define KWS_CONV_CHANNEL_LOOP(GROUPS)                                                  \
  "0:\n\t"                                                                             \
  "ldr %[xp], %[terms]\n\t"                                                            \
  "ldr %[a0], [%[xp]]\n\t"                                                             \
  "mov %[a1], %[a0]\n\t"                                                               \
  "mov %[a2], %[a0]\n\t"                                                               \
  "mov %[a3], %[a0]\n\t"                                                               \
  "ldr %[xp], %[words]\n\t"                                                            \
  GROUPS                                                                               \
  "4:\n\t"                                                                             \
  "ldr %[xp], %[terms]\n\t"                                                            \
  "ldr %[we], [%[xp], #4]\n\t"                                                         \
  "ldrd %[w], %[w_end], [%[xp], #8]\n\t"                                               \
  "add %[xp], %[xp], #16\n\t"                                                          \
  "str %[xp], %[terms]\n\t"                                                            \
  KWS_CONV_REQUANTIZE("%[a0]", "%[x0]", "%[we]", "%[w]", "%[w_end]")                  \
  KWS_CONV_REQUANTIZE("%[a1]", "%[x0]", "%[we]", "%[w]", "%[w_end]")                  \
  KWS_CONV_REQUANTIZE("%[a2]", "%[x0]", "%[we]", "%[w]", "%[w_end]")                  \
  KWS_CONV_REQUANTIZE("%[a3]", "%[x0]", "%[we]", "%[w]", "%[w_end]")                  \
  "ldr %[xp], %[out]\n\t"                                                              \
  "ldr %[x1], %[off1]\n\t"                                                             \
  "strb %[a1], [%[xp], %[x1]]\n\t"                                                     \
  "ldr %[x1], %[off2]\n\t"                                                             \
  "strb %[a2], [%[xp], %[x1]]\n\t"                                                     \
  "ldr %[x1], %[off3]\n\t"                                                             \
  "strb %[a3], [%[xp], %[x1]]\n\t"                                                     \
  "strb %[a0], [%[xp]], #1\n\t"                                                        \
  "str %[xp], %[out]\n\t"                                                              \
  "ldr %[x1], %[out_end]\n\t"                                                          \
  "cmp %[xp], %[x1]\n\t"                                                               \
  "bne 0b\n\t"

#define KWS_CONV_CHANNEL_LOOP_OPERANDS                                                  \
  : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [wp] "+r"(wp),     \
    [xp] "=&r"(xp), [w] "=&r"(w), [we] "=&r"(we), [w_end] "=&r"(w_end), [x0] "=&r"(x0), \
    [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [terms] "+m"(loop.terms),            \
    [out] "+m"(loop.out)                                                                \
  : [words] "m"(loop.words), [lead] "m"(loop.lead_bytes), [quad] "m"(loop.quad_bytes),  \
    [out_end] "m"(loop.out_end), [off1] "m"(loop.slot_offset[0]),                        \
    [off2] "m"(loop.slot_offset[1]), [off3] "m"(loop.slot_offset[2])                    \
  : "cc", "memory"

static KWS_NOINLINE void conv_group_full_fast(const KwsConv2DParams* p, const int32_t* words,
                                              int count, int8_t* out) {
  register int32_t x0 __asm__("r4");
  register int32_t x1 __asm__("r5");
  register int32_t x2 __asm__("r6");
  register int32_t x3 __asm__("r8");
  const int groups = p->patch_size / 4;
  const int lead = groups & 3;
  const int32_t* wp = p->filter;
  const int32_t* xp;
  int32_t a0, a1, a2, a3, w, we;
  const int32_t* w_end;
  FastLoop loop;
  int s;
  loop.words = words;
  loop.terms = p->channel_terms;
  loop.out = out;
  loop.out_end = out + p->output_depth;
  for (s = 1; s < KWS_CONV_2D_PIXELS; ++s) {
    loop.slot_offset[s - 1] = (s < count ? s : count - 1) * p->output_depth;
  }
  loop.lead_bytes = lead * (p->filter_widened ? 8 : 4);
  loop.quad_bytes = (groups - lead) * (p->filter_widened ? 8 : 4);
  if (p->filter_widened && lead == 0) {
    __asm__ volatile(KWS_CONV_CHANNEL_LOOP(KWS_CONV_QUADS(KWS_CONV_GROUP_WIDENED_ASM))
                     KWS_CONV_CHANNEL_LOOP_OPERANDS);
  } else if (p->filter_widened) {
    __asm__ volatile(KWS_CONV_CHANNEL_LOOP(KWS_CONV_LEAD_AND_QUADS(KWS_CONV_GROUP_WIDENED_ASM))
                     KWS_CONV_CHANNEL_LOOP_OPERANDS);
  } else if (lead == 0) {
    __asm__ volatile(KWS_CONV_CHANNEL_LOOP(KWS_CONV_QUADS(KWS_CONV_GROUP_ASM))
                     KWS_CONV_CHANNEL_LOOP_OPERANDS);
  } else {
    __asm__ volatile(KWS_CONV_CHANNEL_LOOP(KWS_CONV_LEAD_AND_QUADS(KWS_CONV_GROUP_ASM))
                     KWS_CONV_CHANNEL_LOOP_OPERANDS);
  }
}
#endif

/* dot_group over a pre-widened filter (two words per group: SXTB16 of the even and of the
 * odd taps). */
static KWS_NOINLINE void dot_group_widened(const int32_t* wp, const int32_t* xp, int groups,
                              int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int g;
  for (g = 0; g < groups; ++g, wp += 2, xp += 2 * KWS_CONV_2D_PIXELS) {
    a0 = kws_smlad(xp[1], wp[1], kws_smlad(xp[0], wp[0], a0));
    a1 = kws_smlad(xp[3], wp[1], kws_smlad(xp[2], wp[0], a1));
    a2 = kws_smlad(xp[5], wp[1], kws_smlad(xp[4], wp[0], a2));
    a3 = kws_smlad(xp[7], wp[1], kws_smlad(xp[6], wp[0], a3));
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* Every output channel of a group of up to KWS_CONV_2D_PIXELS pixels. Parameters are read
 * into locals once: the int8 stores could alias them, so GCC would reload them per store. */
static KWS_NOINLINE void conv_group(const KwsConv2DParams* p, const int32_t* words,
                                    int count, int8_t* out) {
  const int groups = p->patch_size / 4;
  const int out_depth = p->output_depth;
  const int32_t offset = p->output_offset;
  const int32_t act_min = p->activation_min, act_max = p->activation_max;
  const int fast = p->fast_requantize;
  const int32_t* w_row = p->filter;
  const int32_t* bias = p->folded_bias;
  const int32_t* multipliers = p->output_multiplier;
  const int32_t* shifts = p->output_shift;
  const int32_t* roundings = p->output_rounding;
  const int widened = p->filter_widened;
  const int row_words = widened ? 2 * groups : groups;
  int c, s;
  for (c = 0; c < out_depth; ++c, w_row += row_words, ++out) {
    const int32_t multiplier = multipliers[c];
    const int shift = (int)shifts[c];
    int32_t acc[KWS_CONV_2D_PIXELS];
    acc[0] = acc[1] = acc[2] = acc[3] = bias[c];
    if (widened) {
      dot_group_widened(w_row, words, groups, acc);
    } else {
      dot_group(w_row, words, groups, acc);
    }
    if (fast) {
      const int32_t rounding = roundings[c];
      const int right_shift = -shift;
      if (count == KWS_CONV_2D_PIXELS) { /* every group but a short last one */
        out[0] = kws_clamp_output(kws_requantize_fast(acc[0], multiplier, right_shift,
                                                      rounding), offset, act_min, act_max);
        out[out_depth] = kws_clamp_output(
            kws_requantize_fast(acc[1], multiplier, right_shift, rounding), offset, act_min,
            act_max);
        out[2 * out_depth] = kws_clamp_output(
            kws_requantize_fast(acc[2], multiplier, right_shift, rounding), offset, act_min,
            act_max);
        out[3 * out_depth] = kws_clamp_output(
            kws_requantize_fast(acc[3], multiplier, right_shift, rounding), offset, act_min,
            act_max);
        continue;
      }
      for (s = 0; s < count; ++s) {
        out[s * out_depth] = kws_clamp_output(
            kws_requantize_fast(acc[s], multiplier, right_shift, rounding), offset, act_min,
            act_max);
      }
    } else {
      for (s = 0; s < count; ++s) {
        out[s * out_depth] =
            kws_requantize(acc[s], multiplier, shift, offset, act_min, act_max);
      }
    }
  }
}

/* kws_conv_2d over num_pixels output pixels; with as_row the input is num_pixels
 * consecutive pixels (pointwise, stride 1), whatever image size p states. */
static void conv_pixels(const KwsConv2DParams* p, int num_pixels, int as_row,
                        const int8_t* input, int8_t* output) {
  const int pointwise = p->filter_height == 1 && p->filter_width == 1 &&
                        p->padding_top == 0 && p->padding_left == 0;
  /* The arena is word-aligned and the planner aligns every scratch area to 16 bytes. */
  int32_t* words = (int32_t*)(void*)p->scratch;
  int8_t* patch = p->scratch + KWS_CONV_2D_PIXELS * 2 * p->patch_size;
#if defined(__ARM_FEATURE_DSP)
  const int full_fast = p->channel_terms != 0;
#endif
  int first, s, k;
  if (!pointwise) {
    const int n = p->filter_height * p->filter_width * p->input_depth;
    for (k = n; k < p->patch_size; ++k) patch[k] = 0;
  }
  for (first = 0; first < num_pixels; first += KWS_CONV_2D_PIXELS) {
    const int left = num_pixels - first;
    const int count = left < KWS_CONV_2D_PIXELS ? left : KWS_CONV_2D_PIXELS;
    for (s = 0; s < KWS_CONV_2D_PIXELS; ++s) {
      /* A short last group repeats its last pixel; those results are not stored. */
      const int pixel = first + (s < count ? s : count - 1);
      if (as_row) {
        widen_pixel(input + pixel * p->input_depth, p->input_depth, p->patch_size, s, words);
      } else if (pointwise) {
        const int y = pixel / p->output_width, x = pixel % p->output_width;
        const int8_t* src = input + (y * p->stride_height * p->input_width +
                                     x * p->stride_width) * p->input_depth;
        widen_pixel(src, p->input_depth, p->patch_size, s, words);
      } else {
        im2col_pixel(p, input, pixel, patch);
        widen_pixel(patch, p->patch_size, p->patch_size, s, words);
      }
    }
#if defined(__ARM_FEATURE_DSP)
    if (full_fast) {
      conv_group_full_fast(p, words, count, output + first * p->output_depth);
      continue;
    }
#endif
    conv_group(p, words, count, output + first * p->output_depth);
  }
}

void kws_conv_2d(const KwsConv2DParams* p, const int8_t* input, int8_t* output) {
  conv_pixels(p, p->output_height * p->output_width, 0, input, output);
}

void kws_conv_2d_pointwise_row(const KwsConv2DParams* p, int num_pixels, const int8_t* input,
                               int8_t* output) {
  conv_pixels(p, num_pixels, 1, input, output);
}

/* Firmware application: the kws pipeline (kws_app.h) behind the wire protocol
 * (protocol.h, docs/protocol.md).
 *
 * Audio comes from AUDIO frames over the UART, and on a board with a microphone
 * (board_mic.h, KWS_APP_AUDIO_SOURCE == KWS_AUDIO_MIC) also from the microphone: the mic
 * streams from boot, host AUDIO frames take over until SET_OPTIONS clears HOST_AUDIO
 * (docs/protocol.md, "Audio source").  The UART is polled without blocking
 * (board_uart_read_nonblocking), so commands are served while the microphone streams.
 * The device answers PING, INFO_REQUEST, STATUS_REQUEST, SET_OPTIONS, RESET, TENSOR (model
 * only) and STOP, and sends STATUS at boot and whenever the board's counters of lost audio
 * or UART bytes grow.  A bench build (KWS_APP_BENCH=K) invokes the model K times on a fixed
 * input, reports the tick count in a BENCH frame and exits. */
#include "board.h"
#include "kws_app.h"
#include "kws_app_config.h"
#include "model.h"
#include "protocol.h"

#define KWS_AUDIO_UART 0
#define KWS_AUDIO_MIC 1

#ifndef KWS_APP_AUDIO_SOURCE
#if KWS_APP_HAS_MIC
#define KWS_APP_AUDIO_SOURCE KWS_AUDIO_MIC
#else
#define KWS_APP_AUDIO_SOURCE KWS_AUDIO_UART
#endif
#endif

#define USE_MIC (KWS_APP_AUDIO_SOURCE == KWS_AUDIO_MIC)

#if USE_MIC
#include "board_mic.h"
/* 10 ms of 16 kHz audio per microphone read: short enough that the UART receive buffer
 * (filled in the background) never waits long for the protocol parser. */
#define MIC_CHUNK_SAMPLES 160
static int16_t mic_samples[MIC_CHUNK_SAMPLES];
#endif

/* UART bytes handed to the parser per main-loop pass, so a busy link cannot starve the
 * microphone. */
#define UART_POLL_BYTES 64

#ifndef KWS_APP_BENCH
#define KWS_APP_BENCH 0
#endif

#ifndef BOARD_INSTRUCTIONS_PER_TICK
#define BOARD_INSTRUCTIONS_PER_TICK 0u /* real silicon: ticks are cycles, not instructions */
#endif

/* Largest device -> host payload: an OUTPUT, a SCORES vector or a FEATURES frame. */
#define SEND_CAPACITY (KWS_MODEL_OUTPUT_SIZE + 16 + KWS_APP_CHANNELS * 5)

static uint8_t send_buffer[SEND_CAPACITY];
static int8_t tensor_output[KWS_MODEL_OUTPUT_SIZE];
static KwsProtocolParser parser;
static int16_t audio_samples[KWS_PROTOCOL_MAX_PAYLOAD / 2];
static uint8_t device_seq;
static uint8_t options = KWS_OPTION_SEND_SCORES;
/* Where the pipeline's audio comes from now: the host (AUDIO frames) or the microphone. */
static int host_audio = !USE_MIC;
#if USE_MIC
static int mic_listening = 0;
#endif
/* Board counters last reported in a STATUS frame. */
static uint32_t reported_mic_overruns = 0;
static uint32_t reported_uart_overruns = 0;

static void send(uint8_t type, const uint8_t* payload, uint16_t length) {
  kws_protocol_send(board_uart_write, type, device_seq++, payload, length);
}

static void send_ack(const KwsFrame* frame, uint8_t status) {
  uint8_t payload[3];
  payload[0] = frame->type;
  payload[1] = frame->seq;
  payload[2] = status;
  send(KWS_MSG_ACK, payload, 3);
}

static void send_error(uint8_t code, const char* text) {
  uint16_t n = 0;
  send_buffer[n++] = code;
  while (*text && n < SEND_CAPACITY) send_buffer[n++] = (uint8_t)*text++;
  send(KWS_MSG_ERROR, send_buffer, n);
}

static void send_info(void) {
  uint8_t p[32];
  int i;
  for (i = 0; i < 32; ++i) p[i] = 0;
  p[0] = KWS_PROTOCOL_VERSION;
  p[1] = KWS_APP_FRONTEND;
  p[2] = KWS_MODEL_NUM_LABELS;
  p[3] = (uint8_t)((KWS_APP_AUDIO_SOURCE == KWS_AUDIO_MIC ? 1u : 0u) | (KWS_APP_BENCH ? 2u : 0u));
  kws_put_u32(p + 4, KWS_APP_MODEL_ID);
  kws_put_u32(p + 8, KWS_APP_FRONTEND_HASH);
  kws_put_u16(p + 12, KWS_APP_FRAMES);
  kws_put_u16(p + 14, KWS_APP_CHANNELS);
  kws_put_u16(p + 16, KWS_APP_STRIDE_FRAMES);
  kws_put_u32(p + 18, KWS_MODEL_INPUT_SIZE);
  kws_put_u16(p + 22, KWS_MODEL_OUTPUT_SIZE);
  kws_put_u16(p + 24, KWS_APP_SAMPLE_RATE);
  kws_put_u16(p + 26, KWS_PROTOCOL_MAX_PAYLOAD);
  kws_put_u32(p + 28, KWS_MODEL_MACS);
  send(KWS_MSG_INFO, p, 32);
}

static uint32_t mic_overruns(void) {
#if USE_MIC
  return board_mic_overruns();
#else
  return 0;
#endif
}

/* 1 while the microphone feeds the pipeline. */
static int mic_audio(void) {
#if USE_MIC
  return !host_audio && mic_listening;
#else
  return 0;
#endif
}

static void send_status(void) {
  uint8_t p[KWS_STATUS_BYTES];
  uint32_t clock_hz = board_clock_hz();
  p[0] = (uint8_t)((mic_audio() ? KWS_STATUS_MIC_AUDIO : 0u) |
                   (clock_hz < BOARD_SYSCLK_HZ ? KWS_STATUS_CLOCK_FALLBACK : 0u));
  reported_mic_overruns = mic_overruns();
  reported_uart_overruns = board_uart_rx_overruns();
  kws_put_u32(p + 1, clock_hz);
  kws_put_u32(p + 5, reported_mic_overruns);
  kws_put_u32(p + 9, reported_uart_overruns);
  send(KWS_MSG_STATUS, p, KWS_STATUS_BYTES);
}

#if KWS_APP_FRONTEND != KWS_FRONTEND_NONE
static void send_features(void* context, uint32_t frame_index, int raw_format, const void* raw,
                          const int8_t* quantized, int n) {
  uint16_t length = 0;
  int i;
  (void)context;
  if (!(options & KWS_OPTION_SEND_FEATURES)) return;
  kws_put_u32(send_buffer, frame_index);
  send_buffer[4] = (uint8_t)raw_format;
  kws_put_u16(send_buffer + 5, (uint16_t)n);
  length = 7;
  for (i = 0; i < n; ++i) {
    if (raw_format == KWS_FEATURES_UINT16) {
      kws_put_u16(send_buffer + length, ((const uint16_t*)raw)[i]);
      length += 2;
    } else {
      /* The float's bits, read through a union rather than a cast pointer. */
      union {
        float f;
        uint32_t u;
      } bits;
      bits.f = ((const float*)raw)[i];
      kws_put_u32(send_buffer + length, bits.u);
      length += 4;
    }
  }
  for (i = 0; i < n; ++i) send_buffer[length++] = (uint8_t)quantized[i];
  send(KWS_MSG_FEATURES, send_buffer, length);
}

static void send_scores(void* context, uint32_t frame_index, const int8_t* scores, int n) {
  int i;
  (void)context;
  if (!(options & KWS_OPTION_SEND_SCORES)) return;
  kws_put_u32(send_buffer, frame_index);
  send_buffer[4] = (uint8_t)n;
  for (i = 0; i < n; ++i) send_buffer[5 + i] = (uint8_t)scores[i];
  send(KWS_MSG_SCORES, send_buffer, (uint16_t)(5 + n));
}

static void send_detection(void* context, uint32_t frame_index, int label, int32_t average) {
  uint8_t p[7];
  (void)context;
  kws_put_u32(p, frame_index);
  p[4] = (uint8_t)label;
  p[5] = (uint8_t)(int8_t)average;
  p[6] = (uint8_t)(int8_t)KWS_APP_THRESHOLD_Q;
  send(KWS_MSG_DETECTION, p, 7);
}

static const KwsAppHooks protocol_hooks = {send_features, send_scores, send_detection, 0};
#define RESULT_HOOKS (&protocol_hooks)
#else
#define RESULT_HOOKS 0 /* a model-only build has no results but OUTPUT frames */
#endif

static void handle_audio(const KwsFrame* frame) {
  size_t i, n;
  if (frame->length % 2) {
    send_error(KWS_ERROR_BAD_LENGTH, "AUDIO payload must hold whole int16 samples");
    return;
  }
  n = frame->length / 2u;
  if (!host_audio) {
    /* Host audio takes over from the microphone: a clean stream for the host's clip. */
    host_audio = 1;
    options |= KWS_OPTION_HOST_AUDIO;
    kws_app_reset();
  }
  for (i = 0; i < n; ++i) {
    audio_samples[i] = (int16_t)(uint16_t)(frame->payload[2 * i] |
                                           ((uint16_t)frame->payload[2 * i + 1] << 8));
  }
  if (kws_app_process_audio(audio_samples, n) < 0) {
    send_error(KWS_ERROR_NO_FRONTEND, "this build has no frontend: send TENSOR frames");
  }
}

static void handle_tensor(const KwsFrame* frame) {
  if (frame->length != KWS_MODEL_INPUT_SIZE) {
    send_error(KWS_ERROR_BAD_LENGTH, "TENSOR payload must be the model input size");
    return;
  }
  kws_app_invoke((const int8_t*)frame->payload, tensor_output);
  send(KWS_MSG_OUTPUT, (const uint8_t*)tensor_output, KWS_MODEL_OUTPUT_SIZE);
}

#if USE_MIC
/* (Re)starts the microphone stream; 0 on success. */
static int start_mic(void) {
  if (board_mic_start() != 0) {
    send_error(KWS_ERROR_MICROPHONE, "microphone failed to start");
    return -1;
  }
  mic_listening = 1;
  return 0;
}
#endif

/* SET_OPTIONS: result flags, and on a mic board the audio source (HOST_AUDIO). */
static void set_options(uint8_t flags) {
  int want_host = (flags & KWS_OPTION_HOST_AUDIO) || !USE_MIC;
  options = flags;
  if (want_host == host_audio) return;
  host_audio = want_host;
  kws_app_reset();
#if USE_MIC
  /* Back to the microphone: restart its stream, or the audio that piled up while the host
   * streamed would count as overruns. */
  if (!host_audio && start_mic() != 0) {
    host_audio = 1;
    options |= KWS_OPTION_HOST_AUDIO;
    mic_listening = 0;
  }
#endif
}

static void handle_frame(const KwsFrame* frame) {
  switch (frame->type) {
    case KWS_MSG_AUDIO:
      handle_audio(frame);
      break;
    case KWS_MSG_TENSOR:
      handle_tensor(frame);
      break;
    case KWS_MSG_PING:
      send_ack(frame, KWS_STATUS_OK);
      break;
    case KWS_MSG_INFO_REQUEST:
      send_info();
      break;
    case KWS_MSG_STATUS_REQUEST:
      send_status();
      break;
    case KWS_MSG_SET_OPTIONS:
      if (frame->length != 1) {
        send_ack(frame, KWS_ERROR_BAD_LENGTH);
        break;
      }
      set_options(frame->payload[0]);
      send_ack(frame, KWS_STATUS_OK);
      break;
    case KWS_MSG_RESET:
      kws_app_reset();
      send_ack(frame, KWS_STATUS_OK);
      break;
    case KWS_MSG_STOP:
      send_ack(frame, KWS_STATUS_OK);
      board_exit(0);
    default:
      send_ack(frame, KWS_ERROR_UNKNOWN_TYPE);
      break;
  }
}

#if KWS_APP_BENCH
/* Model-only timing on a fixed pseudo-random input (a linear congruential sequence). */
static int8_t bench_input[KWS_MODEL_INPUT_SIZE];

static void run_bench(void) {
  uint32_t state = 12345u, start, ticks;
  uint8_t p[16];
  int i;
  for (i = 0; i < KWS_MODEL_INPUT_SIZE; ++i) {
    state = state * 1664525u + 1013904223u;
    bench_input[i] = (int8_t)(state >> 24);
  }
  kws_app_invoke(bench_input, tensor_output); /* warm-up outside the measurement */
  start = board_ticks();
  for (i = 0; i < KWS_APP_BENCH; ++i) kws_app_invoke(bench_input, tensor_output);
  ticks = board_ticks() - start;
  kws_put_u32(p, (uint32_t)KWS_APP_BENCH);
  kws_put_u32(p + 4, ticks);
  kws_put_u32(p + 8, BOARD_INSTRUCTIONS_PER_TICK);
  kws_put_u32(p + 12, KWS_MODEL_MACS);
  send(KWS_MSG_BENCH, p, 16);
  board_exit(0);
}
#endif

/* Hands the bytes waiting on the UART (at most UART_POLL_BYTES) to the protocol parser. */
static void poll_uart(void) {
  uint8_t bytes[UART_POLL_BYTES];
  size_t i, n = board_uart_read_nonblocking(bytes, sizeof bytes);
  for (i = 0; i < n; ++i) {
    if (kws_protocol_parse_byte(&parser, bytes[i])) handle_frame(&parser.frame);
  }
}

#if USE_MIC
/* One 10 ms microphone chunk through the pipeline.  A microphone that stops delivering
 * is reported once and dropped; the UART keeps working. */
static void listen_mic(void) {
  if (board_mic_read(mic_samples, MIC_CHUNK_SAMPLES) != 0) {
    mic_listening = 0;
    send_error(KWS_ERROR_MICROPHONE, "microphone delivered no audio (timed out)");
    return;
  }
  kws_app_process_audio(mic_samples, MIC_CHUNK_SAMPLES);
}
#endif

int main(void) {
  board_init();
  kws_protocol_parser_reset(&parser);
  if (!kws_app_init(RESULT_HOOKS)) {
    send_error(KWS_ERROR_NO_FRONTEND, "frontend config rejected");
    board_exit(3);
  }
  send_info();
#if KWS_APP_BENCH
  run_bench();
#endif
#if USE_MIC
  if (start_mic() != 0) board_exit(4);
#endif
  send_status();
  for (;;) {
    poll_uart();
#if USE_MIC
    if (mic_audio()) listen_mic();
#endif
    if (mic_overruns() != reported_mic_overruns ||
        board_uart_rx_overruns() != reported_uart_overruns) {
      send_status();
    }
  }
}

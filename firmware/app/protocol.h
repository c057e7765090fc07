/* kws wire protocol, version 1 (docs/protocol.md): framed, checksummed messages over a
 * byte stream (UART).
 *
 * Frame: 0xA5 0x5A | version | type | seq | length (uint16 LE) | payload | CRC-16 (LE)
 * The CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over version..payload.
 * The parser is fed one byte at a time and resynchronises on the next sync pair after
 * garbage, a bad version, an oversized length or a CRC mismatch. */
#ifndef KWS_APP_PROTOCOL_H_
#define KWS_APP_PROTOCOL_H_

#include <stddef.h>
#include <stdint.h>

#define KWS_PROTOCOL_VERSION 1u
#define KWS_PROTOCOL_SYNC0 0xA5u
#define KWS_PROTOCOL_SYNC1 0x5Au
#define KWS_PROTOCOL_HEADER_BYTES 7u
#define KWS_PROTOCOL_CRC_BYTES 2u

/* Largest payload this build accepts; a deployed project sizes it for its model input. */
#ifndef KWS_PROTOCOL_MAX_PAYLOAD
#define KWS_PROTOCOL_MAX_PAYLOAD 2048u
#endif

/* Message types (docs/protocol.md has the payload layouts). */
enum {
  KWS_MSG_PING = 0x01,         /* either way: device answers ACK */
  KWS_MSG_ACK = 0x02,          /* acked type u8, acked seq u8, status u8 */
  KWS_MSG_INFO_REQUEST = 0x03, /* host -> device */
  KWS_MSG_INFO = 0x04,         /* device -> host: HELLO, also sent at boot */
  KWS_MSG_SET_OPTIONS = 0x05,  /* host -> device: flags u8 */
  KWS_MSG_RESET = 0x06,        /* host -> device: restart the audio stream */
  KWS_MSG_STATUS_REQUEST = 0x07, /* host -> device: device answers STATUS */
  KWS_MSG_AUDIO = 0x10,        /* host -> device: int16 LE PCM, 16 kHz mono */
  KWS_MSG_FEATURES = 0x11,     /* device -> host: one feature frame */
  KWS_MSG_SCORES = 0x12,       /* device -> host: int8 output per inference */
  KWS_MSG_DETECTION = 0x13,    /* device -> host: averaged score crossed the threshold */
  KWS_MSG_TENSOR = 0x14,       /* host -> device: int8 model input, run the model only */
  KWS_MSG_OUTPUT = 0x15,       /* device -> host: int8 model output for a TENSOR */
  KWS_MSG_BENCH = 0x16,        /* device -> host: invocations u32, ticks u32, instr/tick u32 */
  KWS_MSG_STATUS = 0x17,       /* device -> host: flags u8, clock Hz u32, mic/UART overruns */
  KWS_MSG_ERROR = 0x7E,        /* device -> host: code u8, ASCII text */
  KWS_MSG_STOP = 0x7F          /* host -> device: ACK, then end the session */
};

/* ACK status and ERROR codes. */
enum {
  KWS_STATUS_OK = 0,
  KWS_ERROR_BAD_LENGTH = 1,
  KWS_ERROR_UNKNOWN_TYPE = 2,
  KWS_ERROR_NO_FRONTEND = 3,
  KWS_ERROR_FRAME_DROPPED = 4,
  KWS_ERROR_MICROPHONE = 5 /* the microphone did not start, or stopped delivering audio */
};

/* SET_OPTIONS flags. */
#define KWS_OPTION_SEND_FEATURES 0x01u
#define KWS_OPTION_SEND_SCORES 0x02u
/* Mic boards: audio from AUDIO frames, microphone paused (an AUDIO frame sets it too). */
#define KWS_OPTION_HOST_AUDIO 0x04u

/* STATUS payload: flags u8, core clock Hz u32, mic overruns u32, UART receive overruns u32. */
#define KWS_STATUS_BYTES 13u
#define KWS_STATUS_MIC_AUDIO 0x01u      /* the pipeline is fed by the microphone now */
#define KWS_STATUS_CLOCK_FALLBACK 0x02u /* running below the board's nominal clock (HSI) */

/* Sends bytes to the link (board_uart_write on the device). */
typedef void (*KwsProtocolWrite)(const void* data, size_t n);

typedef struct {
  uint8_t type;
  uint8_t seq;
  uint16_t length;
  uint8_t payload[KWS_PROTOCOL_MAX_PAYLOAD];
} KwsFrame;

typedef struct {
  int stage;          /* which header/payload/CRC byte comes next */
  uint16_t received;  /* payload bytes so far */
  uint16_t crc;       /* running CRC of version..payload */
  uint8_t crc_low;    /* first (low) CRC byte on the wire */
  uint32_t dropped;   /* frames discarded (bad version/length/CRC) */
  KwsFrame frame;
} KwsProtocolParser;

/* CRC-16/CCITT-FALSE update over n bytes (start with 0xFFFF). */
uint16_t kws_crc16_update(uint16_t crc, const uint8_t* data, size_t n);

void kws_protocol_parser_reset(KwsProtocolParser* parser);

/* Feeds one received byte; returns 1 when parser->frame holds a complete, valid frame
 * (valid until the next call). */
int kws_protocol_parse_byte(KwsProtocolParser* parser, uint8_t byte);

/* Writes one frame (header, payload, CRC) through `write`. */
void kws_protocol_send(KwsProtocolWrite write, uint8_t type, uint8_t seq, const uint8_t* payload,
                       uint16_t length);

/* Little-endian stores used to build payloads. */
void kws_put_u16(uint8_t* out, uint16_t value);
void kws_put_u32(uint8_t* out, uint32_t value);

#endif /* KWS_APP_PROTOCOL_H_ */

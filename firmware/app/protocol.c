#include "protocol.h"

/* Parser stages: the two sync bytes, the five remaining header bytes, payload, CRC. */
enum {
  STAGE_SYNC0 = 0,
  STAGE_SYNC1,
  STAGE_VERSION,
  STAGE_TYPE,
  STAGE_SEQ,
  STAGE_LENGTH_LOW,
  STAGE_LENGTH_HIGH,
  STAGE_PAYLOAD,
  STAGE_CRC_LOW,
  STAGE_CRC_HIGH
};

uint16_t kws_crc16_update(uint16_t crc, const uint8_t* data, size_t n) {
  size_t i;
  int bit;
  for (i = 0; i < n; ++i) {
    crc ^= (uint16_t)((uint16_t)data[i] << 8);
    for (bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    }
  }
  return crc;
}

void kws_protocol_parser_reset(KwsProtocolParser* parser) {
  parser->stage = STAGE_SYNC0;
  parser->received = 0;
  parser->crc = 0xFFFFu;
  parser->crc_low = 0;
  parser->dropped = 0;
  parser->frame.type = 0;
  parser->frame.seq = 0;
  parser->frame.length = 0;
}

/* Back to hunting for a sync pair; a 0xA5 that ended the bad frame may start the next. */
static void resync(KwsProtocolParser* parser, uint8_t byte) {
  ++parser->dropped;
  parser->stage = byte == KWS_PROTOCOL_SYNC0 ? STAGE_SYNC1 : STAGE_SYNC0;
}

int kws_protocol_parse_byte(KwsProtocolParser* parser, uint8_t byte) {
  KwsFrame* frame = &parser->frame;
  switch (parser->stage) {
    case STAGE_SYNC0:
      if (byte == KWS_PROTOCOL_SYNC0) parser->stage = STAGE_SYNC1;
      return 0;
    case STAGE_SYNC1:
      if (byte == KWS_PROTOCOL_SYNC1) {
        parser->stage = STAGE_VERSION;
      } else if (byte != KWS_PROTOCOL_SYNC0) {
        parser->stage = STAGE_SYNC0;
      }
      return 0;
    case STAGE_VERSION:
      if (byte != KWS_PROTOCOL_VERSION) {
        resync(parser, byte);
        return 0;
      }
      parser->crc = kws_crc16_update(0xFFFFu, &byte, 1);
      parser->stage = STAGE_TYPE;
      return 0;
    case STAGE_TYPE:
      frame->type = byte;
      break;
    case STAGE_SEQ:
      frame->seq = byte;
      break;
    case STAGE_LENGTH_LOW:
      frame->length = byte;
      break;
    case STAGE_LENGTH_HIGH:
      frame->length = (uint16_t)(frame->length | ((uint16_t)byte << 8));
      if (frame->length > KWS_PROTOCOL_MAX_PAYLOAD) {
        resync(parser, byte);
        return 0;
      }
      parser->crc = kws_crc16_update(parser->crc, &byte, 1);
      parser->received = 0;
      parser->stage = frame->length ? STAGE_PAYLOAD : STAGE_CRC_LOW;
      return 0;
    case STAGE_PAYLOAD:
      frame->payload[parser->received++] = byte;
      parser->crc = kws_crc16_update(parser->crc, &byte, 1);
      if (parser->received == frame->length) parser->stage = STAGE_CRC_LOW;
      return 0;
    case STAGE_CRC_LOW:
      parser->crc_low = byte;
      parser->stage = STAGE_CRC_HIGH;
      return 0;
    default: /* STAGE_CRC_HIGH */
      if ((uint16_t)(parser->crc_low | ((uint16_t)byte << 8)) != parser->crc) {
        resync(parser, byte);
        return 0;
      }
      parser->stage = STAGE_SYNC0;
      return 1;
  }
  /* Plain header bytes (type, seq, length low) go into the CRC and advance one stage. */
  parser->crc = kws_crc16_update(parser->crc, &byte, 1);
  ++parser->stage;
  return 0;
}

void kws_put_u16(uint8_t* out, uint16_t value) {
  out[0] = (uint8_t)(value & 0xFFu);
  out[1] = (uint8_t)(value >> 8);
}

void kws_put_u32(uint8_t* out, uint32_t value) {
  int i;
  for (i = 0; i < 4; ++i) out[i] = (uint8_t)((value >> (8 * i)) & 0xFFu);
}

void kws_protocol_send(KwsProtocolWrite write, uint8_t type, uint8_t seq, const uint8_t* payload,
                       uint16_t length) {
  uint8_t header[KWS_PROTOCOL_HEADER_BYTES];
  uint8_t crc_bytes[KWS_PROTOCOL_CRC_BYTES];
  uint16_t crc;
  header[0] = KWS_PROTOCOL_SYNC0;
  header[1] = KWS_PROTOCOL_SYNC1;
  header[2] = KWS_PROTOCOL_VERSION;
  header[3] = type;
  header[4] = seq;
  kws_put_u16(header + 5, length);
  crc = kws_crc16_update(0xFFFFu, header + 2, KWS_PROTOCOL_HEADER_BYTES - 2);
  if (length) crc = kws_crc16_update(crc, payload, length);
  kws_put_u16(crc_bytes, crc);
  write(header, KWS_PROTOCOL_HEADER_BYTES);
  if (length) write(payload, length);
  write(crc_bytes, KWS_PROTOCOL_CRC_BYTES);
}

// Keyword spotting on the Arduino Nano 33 BLE (Sense) with the kws library.
//
// The on-board PDM microphone (MP34DT05) delivers 16 kHz mono through the Arduino PDM
// library; its callback only copies samples into a ring buffer, and loop() runs the kws
// pipeline (micro frontend -> int8 model) on them and prints every inference over USB serial.
// Build with the Arduino IDE or arduino-cli (board "Arduino Mbed OS Nano Boards"):
//   arduino-cli compile -b arduino:mbed_nano:nano33ble --library <this library> --export-binaries
#include <PDM.h>
#include <kws_micro_speech.h>

static const size_t kRingSize = 8192;  // 512 ms of audio; a power of two
static int16_t ring[kRingSize];
static volatile size_t ringHead = 0;    // written by the PDM callback
static size_t ringTail = 0;             // read by loop()
static volatile bool ringOverflow = false;
static int16_t pdmBuffer[512];
static int16_t chunk[KWS_STRIDE_SAMPLES];

static void onPDMdata() {
  int bytes = PDM.available();
  if (bytes > (int)sizeof(pdmBuffer)) bytes = sizeof(pdmBuffer);
  PDM.read(pdmBuffer, bytes);
  size_t head = ringHead;
  for (int i = 0; i < bytes / 2; ++i) {
    if (head - ringTail >= kRingSize) {
      ringOverflow = true;  // loop() is too slow: drop the newest audio
      break;
    }
    ring[head % kRingSize] = pdmBuffer[i];
    ++head;
  }
  ringHead = head;
}

void setup() {
  Serial.begin(115200);
  pinMode(LED_BUILTIN, OUTPUT);
  if (!kws_pipeline_init()) {
    Serial.println("kws: frontend config does not fit the build capacity");
    while (true) {}
  }
  PDM.onReceive(onPDMdata);
  if (!PDM.begin(1, 16000)) {  // mono, 16 kHz
    Serial.println("kws: failed to start the PDM microphone");
    while (true) {}
  }
}

void loop() {
  if (ringHead - ringTail < KWS_STRIDE_SAMPLES) return;
  for (size_t i = 0; i < KWS_STRIDE_SAMPLES; ++i) chunk[i] = ring[(ringTail + i) % kRingSize];
  ringTail += KWS_STRIDE_SAMPLES;
  KwsResult result;
  if (!kws_pipeline_process(chunk, KWS_STRIDE_SAMPLES, &result)) return;
  bool detected = result.score >= KWS_DETECTION_THRESHOLD_Q &&
                  kws_label_is_keyword[result.label];
  digitalWrite(LED_BUILTIN, detected ? HIGH : LOW);
  Serial.print(kws_labels[result.label]);
  Serial.print(' ');
  Serial.print((result.score - KWS_MODEL_OUTPUT_ZERO_POINT) * KWS_MODEL_OUTPUT_SCALE);
  Serial.println(detected ? " DETECTED" : "");
  if (ringOverflow) {
    Serial.println("kws: audio dropped (loop too slow)");
    ringOverflow = false;
  }
}

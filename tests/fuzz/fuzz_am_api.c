/* fuzz_am_api: libFuzzer target for the Alertmanager API parser (reconciliation); the checks are in
 * fuzz_payload.h. */
#include "fuzz_payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_payload_parser(fs_parse_am_api_alerts, FS_SRC_RECONCILE, data, size);
}

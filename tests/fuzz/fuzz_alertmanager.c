/* fuzz_alertmanager: libFuzzer target for the Alertmanager webhook parser; the checks are in
 * fuzz_payload.h. */
#include "fuzz_payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_payload_parser(fs_parse_alertmanager, FS_SRC_ALERTMANAGER, data, size);
}

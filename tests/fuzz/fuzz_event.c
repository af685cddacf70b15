/* fuzz_event: libFuzzer target for the generic event parser; the checks are in fuzz_payload.h. */
#include "fuzz_payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_payload_parser(fs_parse_event, FS_SRC_EVENT, data, size);
}

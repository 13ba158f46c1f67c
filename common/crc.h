/* crc: the CRCs S3 checksums use: CRC-32 (as zlib and gzip) and CRC-32C
 * (Castagnoli), both reflected with initial and final XOR ~0. */
#ifndef SM_CRC_H
#define SM_CRC_H

#include <stddef.h>
#include <stdint.h>

/* Chain by passing 0 first, then the previous value. */
uint32_t sm_crc32(uint32_t crc, const void *data, size_t len);
uint32_t sm_crc32c(uint32_t crc, const void *data, size_t len);

#endif

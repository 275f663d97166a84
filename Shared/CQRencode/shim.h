#ifndef GRIDLOOP_CQRENCODE_SHIM_H
#define GRIDLOOP_CQRENCODE_SHIM_H

/// libqrencode 4 (Debian `libqrencode-dev`): `QRcode_encodeString`, `QRcode_free`, the
/// `QRcode` struct (one byte per module, bit 0 = dark) and the level/mode enums.
#include <qrencode.h>

#endif

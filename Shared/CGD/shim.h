// libgd (Debian libgd-dev): decodes and re-encodes evidence photos, seen only by GridLoopPhotos.
// Its types and constants only: the library is not linked but loaded on first use (LibGD.swift).
#include <gd.h>

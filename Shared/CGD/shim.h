// libgd (Debian libgd-dev): decodes and re-encodes evidence photos, seen only by GridLoopPhotos.
#include <gd.h>

/* The hostile guests use the virtio guest driver too. */
#include "../virtio/vdrv.c"

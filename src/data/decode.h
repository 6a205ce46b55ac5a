/* PNG and JPEG files to tl_image (HWC uint8), recognised by their content, decoded as Pillow decodes
 * them and as torchvision's image-folder loader hands them on (`Image.open(f).convert("RGB")`):
 *  - 16-bit samples keep their high byte (Pillow's "RGB;16B"), palette images become RGB, gray below
 *    8 bits is expanded to 0..255, interlaced files are read whole;
 *  - an alpha channel (RGBA, gray + alpha, a palette's transparency) is dropped: the colour values are
 *    kept as stored, not composited on any background (what convert("RGB") does);
 *  - CMYK and YCCK JPEGs become RGB with Pillow's rule R = 255 - min(255, C + K) (Adobe files store
 *    the inks inverted and are read so); progressive JPEGs decode like baseline ones;
 *  - a truncated or corrupt file is an error, never a partly gray image (libjpeg's warnings count).
 * Sizes are checked from the header before any pixel buffer is allocated (decompression bombs). */
#ifndef TL_DATA_DECODE_H
#define TL_DATA_DECODE_H
#include <stddef.h>
#include "tailor.h"
#include "data/transform.h"

/* At most this many pixels in one image (about 16384 x 16384), and this many bytes decoded. */
#define TL_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
#define TL_IMAGE_MAX_SIDE   65536

enum { TL_IMAGE_NONE, TL_IMAGE_PNG, TL_IMAGE_JPEG };
typedef struct {
    int format;     /* TL_IMAGE_PNG or TL_IMAGE_JPEG */
    int h, w;
    int c;          /* channels of the decoded image: 1 (gray) or 3 (colour) */
} tl_image_info;

/* The format of a file from its first n bytes (8 are enough), TL_IMAGE_NONE when neither. */
int tl_image_sniff(const unsigned char *head, size_t n);
/* Reads only the header of path. Returns 1 and fills *info for a PNG or JPEG within the limits, 0 for a
 * file that is not a PNG or JPEG (err untouched), -1 for an unreadable file, a broken header or an
 * image over the limits (err names path). */
int tl_image_probe(tl_image_info *info, const char *path, tl_error *err);
/* Decodes path into im (reallocated as needed) in its own channel count. min_side > 0 lets a JPEG
 * decode at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, as Pillow's draft mode) while its shorter
 * side stays >= min_side; 0 decodes at full size. Errors name path. */
int tl_image_decode(tl_image *im, const char *path, int min_side, tl_error *err);
/* The image as a data set stores it: decoded (a JPEG at the DCT scale that keeps its shorter side
 * >= side), converted to c channels (tl_image_convert) and, when side > 0 and the shorter side is
 * still more than 2 * side (a large PNG, a JPEG beyond 1/8), resized (antialiased bilinear) so the
 * shorter side is side, the other int(side * long / short). The transforms then see an image between
 * side and 2 * side on its shorter side, or the original when that is smaller: the cost of decoding
 * and of the first resize stays bounded whatever the file's size. tmp is scratch. Errors name path. */
int tl_image_load(tl_image *im, tl_image *tmp, const char *path, int c, int side, tl_error *err);

#endif

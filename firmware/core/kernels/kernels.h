/* The int8 kernel library that generated model code calls (one op per C file). */
#ifndef KWS_KERNELS_KERNELS_H_
#define KWS_KERNELS_KERNELS_H_

#include "kernels/average_pool_2d.h"
#include "kernels/conv_2d.h"
#include "kernels/conv_2d_inplace.h"
#include "kernels/conv_depthwise_fused.h"
#include "kernels/depthwise_conv_2d.h"
#include "kernels/depthwise_conv_2d_inplace.h"
#include "kernels/fully_connected.h"
#include "kernels/mean.h"
#include "kernels/reshape.h"
#include "kernels/softmax.h"

#endif /* KWS_KERNELS_KERNELS_H_ */

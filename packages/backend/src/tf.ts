import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients; tfjs-layers' Node build registers all of them on import. A namespace
// import, not `import '…'`: tsc copies bare imports into tf.d.ts, which would make every consumer's type check read
// tfjs-layers' declarations (15 errors under skipLibCheck false); an unexported binding stays out of the .d.ts.
import * as tfjsLayers from '@tensorflow/tfjs-layers';
void tfjsLayers;

// Silence the "install tfjs-node" banner: smn chooses backends itself and says why.
tf.env().set('PROD', true);

// tfjs's Relu gradient keeps the input alive until the backward pass reaches it; the output gives the same mask
// (y > 0 exactly where x > 0) and is what the next layer keeps anyway, so a network's pre-activations (batch-norm
// outputs) are freed as soon as the forward pass has used them, as with PyTorch's in-place ReLU. (@smn/backend-torch
// registers the same gradient with a fused kernel while 'torch' is active.)
tf.registerGradient({
  kernelName: 'Relu',
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [y] = saved as [tf.Tensor];
    return { x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.step(y), 'float32')) };
  },
});

export { tf };

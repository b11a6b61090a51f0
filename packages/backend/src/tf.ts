import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients; tfjs-layers' Node build registers all of them on import.
import '@tensorflow/tfjs-layers';

// Silence the "install tfjs-node" banner: smn chooses backends itself and says why.
tf.env().set('PROD', true);

export { tf };

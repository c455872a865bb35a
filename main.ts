import { App } from 'cdktf';
import { NatExampleStack, natExampleConfigFromEnv } from './stacks/nat-example';

// The App only composes stacks; every setting comes from the environment (see README).
const app = new App();
new NatExampleStack(app, 'nat-example', natExampleConfigFromEnv(process.env));
app.synth();

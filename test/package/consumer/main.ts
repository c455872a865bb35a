import { App } from 'cdktf';
import { defineConsumerStacks } from './stacks';

const app = new App();
defineConsumerStacks(app);
app.synth();

import { App } from 'cdktf';
import { ExistingInstanceNatModuleStack } from './stacks/existing-instance-nat-module';
import { NatExampleStack, natExampleConfigFromEnv } from './stacks/nat-example';
import { NatModuleStack } from './stacks/nat-module';
import { NatTestPipelineStack, natTestPipelineConfigFromEnv } from './stacks/nat-test-pipeline';

// The App only composes stacks; every setting comes from the environment (see README).
const app = new App();
new NatExampleStack(app, 'nat-example', natExampleConfigFromEnv(process.env));
new NatModuleStack(app, 'nat-module');
new ExistingInstanceNatModuleStack(app, 'existing-instance-nat-module');
new NatTestPipelineStack(app, 'nat-test-pipeline', natTestPipelineConfigFromEnv(process.env));
app.synth();

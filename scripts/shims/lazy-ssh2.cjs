// Bundle stand-in for `ssh2`: docker-modem requires it at load time, but only an ssh:// endpoint
// uses it. The real module is loaded from node_modules when the first ssh client is made
// (a computed name, so the bundler leaves this require to run time).
const moduleName = 'ssh2';
let real;
class Client {
  constructor(...args) {
    real ??= require(moduleName);
    return new real.Client(...args);
  }
}
module.exports = {Client};

// Bundle stand-in for dockerode's BuildKit session/progress modules (lib/session.js and
// lib/buildkit.js): they pull in gRPC and protobuf (800 KB) that dbox never uses, since it never
// builds images. Kept out of the bundle so start-up stays fast; calling them says why.
const unsupported = () => {
  throw new Error('dbox: BuildKit image builds are not part of dbox');
};
module.exports = function withSession(_docker, _auth, callback) {
  callback(new Error('dbox: BuildKit image builds are not part of dbox'));
};
module.exports.followProgress = unsupported;

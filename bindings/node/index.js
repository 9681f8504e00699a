// @tagsmith/node entry point: the generated napi-rs loader (binding.js) plus explicit resource
// management, which napi-rs cannot declare on a class (a symbol-keyed method).
'use strict'

const binding = require('./binding.js')
const { Engine, Customers, Trackings, __napiBindingTarget } = binding

Engine.prototype[Symbol.asyncDispose] = async function asyncDispose() {
  this.close()
}
Engine.prototype[Symbol.dispose] = function dispose() {
  this.close()
}

module.exports = { Engine, Customers, Trackings, __napiBindingTarget }

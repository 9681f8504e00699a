// @tagsmith/node entry point: the generated napi-rs loader (binding.js) plus two things napi-rs
// cannot declare on a class: explicit resource management (symbol-keyed methods) and `Date`
// times in results (the native side returns RFC 3339 text; JS hosts expect `Date`).
'use strict'

const binding = require('./binding.js')
const { Engine, Customers, Trackings, __napiBindingTarget } = binding

Engine.prototype[Symbol.asyncDispose] = async function asyncDispose() {
  this.close()
}
Engine.prototype[Symbol.dispose] = function dispose() {
  this.close()
}

// Time fields of every record and event, at any depth of a result (records, pages, batches).
const TIME_KEYS = ['createdAt', 'updatedAt', 'lastSyncedAt', 'at']

function withDates(value) {
  if (Array.isArray(value)) {
    for (const item of value) withDates(item)
  } else if (value !== null && typeof value === 'object') {
    for (const key of TIME_KEYS) {
      if (typeof value[key] === 'string') value[key] = new Date(value[key])
    }
    if (value.items) withDates(value.items)
    if (value.events) withDates(value.events)
  }
  return value
}

function datesFrom(cls, names) {
  for (const name of names) {
    const sync = cls.prototype[`${name}Sync`]
    const promised = cls.prototype[name]
    if (sync) {
      cls.prototype[`${name}Sync`] = function (...args) {
        return withDates(sync.apply(this, args))
      }
    }
    cls.prototype[name] = function (...args) {
      return promised.apply(this, args).then(withDates)
    }
  }
}

datesFrom(Engine, ['createTenant', 'getTenant', 'listTenants'])
datesFrom(Customers, ['create', 'get', 'list', 'update', 'delete'])
datesFrom(Trackings, ['create', 'get', 'list', 'update', 'delete'])
const events = Engine.prototype.events
Engine.prototype.events = function (...args) {
  return withDates(events.apply(this, args))
}

module.exports = { Engine, Customers, Trackings, __napiBindingTarget }

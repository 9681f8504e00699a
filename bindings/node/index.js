// @tagsmith/node entry point: the generated napi-rs loader (binding.js) plus what napi-rs cannot
// declare on a class: explicit resource management (symbol-keyed methods), and results as plain
// objects with `Date` times. The native side answers JSON text (camelCase keys, times as epoch
// milliseconds); one JSON.parse here builds the object, cheaper than building it through napi.
'use strict'

const binding = require('./binding.js')
const { Engine, Customers, Trackings, Jobs, Worker, __napiBindingTarget } = binding

Engine.prototype[Symbol.asyncDispose] = async function asyncDispose() {
  this.close()
}
Engine.prototype[Symbol.dispose] = function dispose() {
  this.close()
}

// Time fields of every record and event, at any depth of a result (records, pages, batches).
const TIME_KEYS = [
  'createdAt',
  'updatedAt',
  'lastSyncedAt',
  'at',
  'scheduledAt',
  'attemptedAt',
  'finalizedAt',
  'leaseExpiresAt',
]

function withDates(value) {
  if (Array.isArray(value)) {
    for (const item of value) withDates(item)
  } else if (value !== null && typeof value === 'object') {
    for (const key of TIME_KEYS) {
      if (typeof value[key] === 'number') value[key] = new Date(value[key])
    }
    if (value.items) withDates(value.items)
    if (value.events) withDates(value.events)
    if (Array.isArray(value.errors)) withDates(value.errors)
  }
  return value
}

function revive(text) {
  return withDates(JSON.parse(text))
}

function datesFrom(cls, names) {
  for (const name of names) {
    const sync = cls.prototype[`${name}Sync`]
    const promised = cls.prototype[name]
    if (sync) {
      cls.prototype[`${name}Sync`] = function (...args) {
        return revive(sync.apply(this, args))
      }
    }
    cls.prototype[name] = function (...args) {
      return promised.apply(this, args).then(revive)
    }
  }
}

datesFrom(Engine, ['createTenant', 'getTenant', 'listTenants'])
datesFrom(Customers, ['create', 'get', 'list', 'update', 'delete'])
datesFrom(Trackings, ['create', 'get', 'list', 'update', 'delete'])
datesFrom(Jobs, ['enqueue', 'enqueueMany', 'get', 'list', 'retry', 'cancel', 'stats'])
datesFrom(Worker, ['runUntilIdle', 'shutdown'])

// A handler gets the job as a plain object (times as Dates) and may return a value or a
// Promise; the native side always gets a Promise, so a throw and a rejection fail the attempt
// the same way.
const register = Worker.prototype._register
Worker.prototype.register = function (kind, handler, opts) {
  const call =
    typeof handler === 'function'
      ? async (jobJson) => {
          await handler(revive(jobJson))
        }
      : handler
  return register.call(this, kind, call, opts)
}
delete Worker.prototype._register

// A filter's times may be Dates: the native side reads RFC 3339 text.
const events = Engine.prototype.events
Engine.prototype.events = function (tenantId, after, limit, filter) {
  if (filter !== null && typeof filter === 'object' && !Array.isArray(filter)) {
    filter = { ...filter }
    for (const key of ['since', 'until']) {
      if (filter[key] instanceof Date) filter[key] = filter[key].toISOString()
    }
  }
  return revive(events.call(this, tenantId, after, limit, filter))
}

module.exports = { Engine, Customers, Trackings, Jobs, Worker, __napiBindingTarget }

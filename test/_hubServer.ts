// The tests' Hub test double is the package's local Hub server (src/hub/localHubServer.ts).
export * from '../src/hub/localHubServer.js'

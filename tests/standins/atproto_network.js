// A real Bluesky network on loopback for the tests: @atproto/dev-env's TestNetwork (a PLC
// directory, a PDS and the AppView, on free ports), seeded with a few accounts and follows.
//
// Run with Node 22 from a folder where @atproto/dev-env is installed (.ci/services makes
// /opt/lanyard-atproto): DB_POSTGRES_URL (a database of its own) and REDIS_HOST (host:port)
// in the environment, and a JSON seed as the one argument:
//   {"accounts": ["alice", "bob"], "follows": [["alice", "bob"]]}
// Prints one JSON line {"appview", "pds", "dids": {handle: did}} once the AppView has
// indexed everything, then serves until its standard input closes.
const { TestNetwork } = require('@atproto/dev-env')

const run = async () => {
  const seed = JSON.parse(process.argv[2] || '{"accounts": [], "follows": []}')
  const schema = 'lanyard_' + Math.random().toString(36).replace(/[^a-z]/g, '')
  const network = await TestNetwork.create({ dbPostgresSchema: schema })
  const sc = network.getSeedClient()
  const dids = {}
  for (const name of seed.accounts) {
    await sc.createAccount(name, { handle: `${name}.test`, email: `${name}@test.com`, password: 'hunter2' })
    dids[`${name}.test`] = sc.dids[name]
  }
  for (const [from, to] of seed.follows) {
    await sc.follow(sc.dids[from], sc.dids[to])
  }
  await network.processAll()
  console.log(JSON.stringify({ appview: network.bsky.url, pds: network.pds.url, dids }))
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await network.close()
    process.exit(0)
  })
}

run().catch((error) => {
  console.error(String(error && error.stack ? error.stack.split('\n')[0] : error))
  process.exit(1)
})

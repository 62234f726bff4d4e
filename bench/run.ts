// `npm run bench -- sketch [--json]`: the same benchmarks as `reliquary bench`, from source.
import '../src/cli/main.js'

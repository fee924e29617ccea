// Containers of the tests have loopback only unless a test asks for a network: the default
// network's bridge (berth0) is host-wide, and no test may create it on the machine it runs on.
// test/integration/network.test.ts checks the real default (the bridge network) with this unset.
// runCli passes process.env on, so CLI runs of the tests see the same.
process.env.BERTH_DEFAULT_NETWORK ??= 'none';

/** How to get the host tools this plugin runs. */
export const IP_HINT = 'install iproute2 (apt-get install iproute2)';
export const NFT_HINT = 'install nftables (apt-get install nftables; .ci/run does)';

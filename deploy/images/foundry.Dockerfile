# Stand-in for the official ghcr.io/foundry-rs/foundry:v1.7.1 where no registry is reachable:
# the same anvil release (npm's @foundry-rs/anvil 1.7.1, the one node/js pins), run as the
# official image runs its tools (ENTRYPOINT /bin/sh -c). Built by build-base-images.sh; users
# pull the official image.
FROM debian:bookworm-slim
COPY anvil /usr/local/bin/anvil
EXPOSE 8545
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["anvil"]

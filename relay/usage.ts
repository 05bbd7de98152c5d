/** `node relay --help`: every flag, its PORTHOLE_* variable and its default, the defaults taken from where they are defined. */
import { MAX_FRAME_PAYLOAD } from '../core/protocol.js';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_DOMAIN,
  DEFAULT_GRACE_SECONDS,
  DEFAULT_HEAD_TIMEOUT_SECONDS,
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_HOST,
  DEFAULT_HTTP_PORT,
  DEFAULT_KEEP_ALIVE_SECONDS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_STREAMS_PER_TUNNEL,
  DEFAULT_MAX_TUNNELS_PER_TOKEN,
} from './config.js';
import { WELL_KNOWN_PORT } from './publicUrl.js';
import { DEFAULT_IPV6_PREFIX, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from './connectionLimits.js';

export const USAGE = `Usage: node relay [options]

Starts a Porthole relay. With no options: http://<name>.${DEFAULT_DOMAIN}:${DEFAULT_HTTP_PORT} on ${DEFAULT_HOST}, no TLS, no token.

  --domain NAME            apex domain; tunnels are <name>.NAME           (PORTHOLE_DOMAIN, default ${DEFAULT_DOMAIN})
  --host ADDRESS           address to listen on                           (PORTHOLE_HOST, default ${DEFAULT_HOST})
  --http-port N            HTTP port (${WELL_KNOWN_PORT.http} with TLS)                        (PORTHOLE_HTTP_PORT, default ${DEFAULT_HTTP_PORT})
  --public-url URL         the relay as people reach it, when a balancer or port forward
                           in front has another port, e.g. https://NAME:8443 (PORTHOLE_PUBLIC_URL)
  --token T                an agent token; repeat for several             (PORTHOLE_TOKENS, comma-separated)
  --tokens-file FILE       agent tokens, one per line; re-read on SIGHUP  (PORTHOLE_TOKENS_FILE)
  --admin-token T          token for /_porthole/metrics                   (PORTHOLE_ADMIN_TOKEN)
  --grace SECONDS          how long a dropped agent's name stays reserved (PORTHOLE_GRACE, default ${DEFAULT_GRACE_SECONDS})
  --heartbeat SECONDS      ping interval; silent peers are cut after two  (PORTHOLE_HEARTBEAT, default ${DEFAULT_HEARTBEAT_SECONDS})
  --max-header-size BYTES  largest public request head                    (PORTHOLE_MAX_HEADER_SIZE, default ${DEFAULT_MAX_HEADER_BYTES})
  --max-streams N          concurrent requests per tunnel                 (PORTHOLE_MAX_STREAMS, default ${DEFAULT_MAX_STREAMS_PER_TUNNEL})
  --max-tunnels-per-token N                                               (PORTHOLE_MAX_TUNNELS_PER_TOKEN, default ${DEFAULT_MAX_TUNNELS_PER_TOKEN})
  --max-frame-size BYTES   largest protocol frame payload                 (PORTHOLE_MAX_FRAME_SIZE, default ${MAX_FRAME_PAYLOAD})
  --max-connections N      connections at once, agents included           (PORTHOLE_MAX_CONNECTIONS, default 9/10 of the open-files limit)
  --max-connections-per-ip N   from one client address; 0 = no limit      (PORTHOLE_MAX_CONNECTIONS_PER_IP, default ${DEFAULT_MAX_CONNECTIONS_PER_ADDRESS})
  --ipv6-prefix BITS       IPv6 clients are counted per prefix            (PORTHOLE_IPV6_PREFIX, default ${DEFAULT_IPV6_PREFIX})
  --head-timeout SECONDS   for a TLS handshake, then for each request head (PORTHOLE_HEAD_TIMEOUT, default ${DEFAULT_HEAD_TIMEOUT_SECONDS})
  --keep-alive-timeout SECONDS   an idle connection is closed after this  (PORTHOLE_KEEP_ALIVE_TIMEOUT, default ${DEFAULT_KEEP_ALIVE_SECONDS})
  --log-format text|json   one JSON object per line with json             (PORTHOLE_LOG_FORMAT, default text)

TLS (Let's Encrypt, or your own certificate):
  --acme-email ADDRESS     enables automatic certificates                 (PORTHOLE_ACME_EMAIL)
  --acme-directory URL     ACME directory (default Let's Encrypt production) (PORTHOLE_ACME_DIRECTORY)
  --data-dir DIR           account key and certificates                   (PORTHOLE_DATA_DIR, default ./${DEFAULT_DATA_DIR})
  --acme-dns-hook MODULE   one wildcard certificate through DNS-01 with this hook module (PORTHOLE_ACME_DNS_HOOK)
  --acme-skip-self-check   test only: skip the client's own pre-validation fetch
  --tls-cert FILE, --tls-key FILE   bring your own certificate (a wildcard for *.domain)
  --https-port N           HTTPS port                                     (PORTHOLE_HTTPS_PORT, default ${WELL_KNOWN_PORT.https})
  --no-http2               serve visitors HTTP/1.1 only over HTTPS        (PORTHOLE_NO_HTTP2=1; default: h2 and http/1.1 by ALPN)

Cluster (several relays on one Redis; every node with the same domain, tokens and TLS settings):
  --redis URL              redis://[:password@]HOST:PORT[/DB], rediss:// for TLS  (PORTHOLE_REDIS)
  --cluster-secret S       authenticates node-to-node traffic; required with --redis (PORTHOLE_CLUSTER_SECRET)
  --advertise URL          how the other nodes reach this one (PORTHOLE_ADVERTISE, default http://<host>:<http-port>)
  --help`;

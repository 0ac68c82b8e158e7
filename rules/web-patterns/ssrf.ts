// Patterns of rules/web_ssrf.yml: URLs in a request that point at cloud metadata services, loopback or private
// addresses (in every spelling of an IP address), or use schemes that talk to raw sockets.
import { alt, ch, pct, SLASH } from './blocks.js';

const D = alt('\\.', pct('2e'));
const COLON = ch(':');
const AT = ch('@');
/** Where a host ends: a port, a path, a query, a fragment, the end of the value or of the parameter. */
const HOST_END = alt('$', '[:/?#\\\\&\\]\\s+]', pct('3a', '2f', '3f', '23', '26', '5c', '5d', '20'));
/** // before a host, with an optional scheme, and optional user info (http://x@127.0.0.1 sends to 127.0.0.1). */
const AUTHORITY = `${SLASH}{2}(?:[^/?@\\s]{0,64}${AT})?${ch('[')}?`;

/** 169.254.169.254 written with dots, in decimal, octal or hex parts: specific enough anywhere. */
const METADATA_DOTTED = alt(
  `169${D}254${D}169${D}254`,
  `0xa9${D}0xfe${D}0xa9${D}0xfe`,
  `0251${D}0376${D}0251${D}0376`,
  `0251${D}254${D}169${D}254`,
  `169${D}254${D}43518`,
  `169${D}16689662`,
);

/** 169.254.169.254 as one number or in IPv6: only as a URL host (a ten-digit number is also a phone number). */
const METADATA_HOST = alt('2852039166', '0xa9fea9fe', `${COLON}{2}ffff${COLON}a9fe${COLON}a9fe`, `fd00${COLON}ec2${COLON}{2}254`,
  `metadata${D}google${D}internal`, `metadata${D}goog`, 'metadata', 'instance-data', `100${D}100${D}100${D}200`, `192${D}0${D}0${D}192`);

/** Cloud metadata endpoints: AWS, GCP, Azure, DigitalOcean, OpenStack, Oracle, Alibaba, ECS task roles. */
export const CLOUD_METADATA = alt(
  METADATA_DOTTED,
  `${AUTHORITY}${METADATA_HOST}${ch(']')}?${HOST_END}`,
  `169${D}254${D}170${D}2${alt('$', '[^0-9]')}`,
  `latest${SLASH}${alt('meta-data', 'user-data', 'dynamic', `api${SLASH}token`)}`,
  `computemetadata${SLASH}v1`,
);

/** Schemes that reach raw TCP services (Redis, SMTP, memcached) from a URL fetcher. */
export const SOCKET_SCHEMES = `${alt('gopher', 'dict', 'netdoc', `jar${COLON}${alt('https?', 'file', 'ftp')}`)}${COLON}`;

/** Loopback, unspecified, link-local and private addresses in every spelling, and names that resolve to them. */
const INTERNAL_HOST = alt(
  'localhost', `localhost${D}localdomain`, `[a-z0-9.-]{0,64}${D}localhost`,
  `127${D}\\d{1,3}${D}\\d{1,3}${D}\\d{1,3}`, `127${D}\\d{1,3}(?:${D}\\d{1,3})?`, `0{1,4}177${D}\\d{1,4}(?:${D}\\d{1,4}){0,4}`,
  '2130706433', '017700000001', `0x7f(?:[0-9a-f]{6}|${D}0x?[0-9a-f]{1,2}(?:${D}0x?[0-9a-f]{1,2}){0,4}|${D}\\d{1,8})`,
  `0${D}0${D}0${D}0`, '0',
  `${COLON}{2}1?`, `(?:0{1,4}${COLON}){5,7}0{0,3}1`, `(?:0{1,4}${COLON}){1,5}${COLON}`, `${COLON}{2}ffff${COLON}[0-9a-fx.]{1,20}`, `(?:0{1,4}${COLON}){5}ffff${COLON}[0-9a-fx.]{1,20}`,
  `10${D}\\d{1,3}${D}\\d{1,3}${D}\\d{1,3}`, `192${D}168${D}\\d{1,3}${D}\\d{1,3}`, `172${D}(?:1[6-9]|2\\d|3[01])${D}\\d{1,3}${D}\\d{1,3}`,
  `169${D}254${D}\\d{1,3}${D}\\d{1,3}`,
  `[a-z0-9.-]{0,64}127${D}0${D}0${D}1${D}(?:nip${D}io|sslip${D}io|xip${D}io)`, `(?:[a-z0-9-]{1,30}${D})?localtest${D}me`, `(?:[a-z0-9-]{1,30}${D})?lvh${D}me`,
  `kubernetes${D}default(?:${D}svc(?:${D}cluster${D}local)?)?`, `[a-z0-9-]{1,63}${D}svc${D}cluster${D}local`, `[a-z0-9-]{1,63}${D}internal`, `[a-z0-9.-]{1,64}${D}consul`,
);

/** A URL to an internal host inside a request (a parameter or a path segment), not the request target itself. */
export const INTERNAL_URL = `.${alt(`[a-z]{2,8}${COLON}`, '')}${AUTHORITY}${INTERNAL_HOST}${ch(']')}?${HOST_END}`;

/** Schemes with no place in a parameter that a fetcher may still follow. */
export const OTHER_SCHEMES = `${alt('ldaps?', 'tftp', 'rmi', 'iiop', `jdbc${COLON}[a-z0-9]{2,12}`)}${COLON}${SLASH}{2}[a-z0-9[-]`;

const STRONG = {
  selection_metadata: CLOUD_METADATA,
  selection_socket_scheme: SOCKET_SCHEMES,
};

export const SSRF_METADATA = STRONG;

export const SSRF_INTERNAL = {
  selection_internal_url: INTERNAL_URL,
  selection_scheme: OTHER_SCHEMES,
  ...Object.fromEntries(Object.entries(STRONG).map(([k, v]) => [k.replace(/^selection_/, 'filter_'), v])),
};


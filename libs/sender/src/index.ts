export { type SsrfConfig, ssrfAllowFrom, ssrfSchema } from './config.ts';
export { CONTENT_TYPES, HEADERS, SECRET_PREFIX, SENDER_DEFAULTS, SSRF_ERROR_CODE } from './definitions.ts';
export {
  HttpSender,
  type HttpSenderOptions,
  parseRetryAfter,
  type SendInput,
  type SendKind,
  type SendOutcome,
} from './http.ts';
export { classifyIp, type IpClass, type IpRefusal, type ParsedCidr, parseCidr } from './ip.ts';
export {
  type Behaviour,
  behaviourForPath,
  type ReceivedRequest,
  type Receiver,
  type ReceiverOptions,
  startReceiver,
  verifySignatures,
} from './receiver.ts';
export {
  generateSecret,
  mailerSendSignature,
  type ParsedSecret,
  parseSecret,
  type SignatureHeaders,
  type Signed,
  type SignInput,
  signRequest,
  standardSignature,
} from './signing.ts';
export {
  type AddressCheck,
  checkUrl,
  createSsrfLookup,
  isSsrfError,
  type ResolvedAddress,
  type Resolver,
  type SsrfAllow,
  SsrfError,
  SsrfGuard,
  type SsrfOptions,
  type UrlCheck,
} from './ssrf.ts';

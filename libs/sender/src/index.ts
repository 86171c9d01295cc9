export { type SsrfConfig, ssrfAllowFrom, ssrfSchema } from './config.ts';

export { HttpSender, type SendInput, type SendOutcome } from './http.ts';

export { type Behaviour, type Receiver, startReceiver, verifySignatures } from './receiver.ts';
export { generateSecret } from './signing.ts';
export { checkUrl, type SsrfAllow } from './ssrf.ts';

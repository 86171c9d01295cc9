export {
  type Email,
  type EmailEvent,
  EVENT_TYPES,
  type EventType,
  type InboundForward,
  isEventType,
  type Morph,
  type SenderIdentity,
} from './catalog.ts';
export { AvroCodec, type DecodeResult, type PoisonReason, RegistryUnavailableError } from './codec.ts';
export { InvalidEventError, MtaProducer, type MtaProducerOptions } from './mta-producer.ts';
export {
  type Compatibility,
  createRegistry,
  registerSchema,
  SchemaRegistry,
  setCompatibility,
} from './registry.ts';
export { emailEventSchema, loadSchema, valueSubject } from './schemas.ts';

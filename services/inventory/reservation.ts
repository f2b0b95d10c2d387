// The stock reservation of one order: the answers inventory gave to the saga's stock commands,
// event-sourced in the stream `reservation-<orderId>`. The events ARE the integration events the
// saga reads, so appending an answer and recording it are one write.
import type { OrderItem } from '../../generated/orderflow/common/v1/common.js';
import type {
  StockCommitted,
  StockReleased,
  StockReservationFailed,
  StockReserved,
} from '../../generated/orderflow/inventory/v1/events.js';

/** The events of a reservation stream, tagged with their message name. */
export type ReservationEvent =
  | { type: 'StockReserved'; data: StockReserved }
  | { type: 'StockReservationFailed'; data: StockReservationFailed }
  | { type: 'StockReleased'; data: StockReleased }
  | { type: 'StockCommitted'; data: StockCommitted };

export type ReservationEventType = ReservationEvent['type'];

/** Which of the three commands has been answered already: each is answered exactly once. */
export interface Answered {
  reserve: boolean;
  release: boolean;
  commit: boolean;
}

/**
 * - `none`: no command answered yet.
 * - `reserved`: StockReserved was answered and the order's holds are in place.
 * - `failed` / `released` / `committed`: the order holds no stock any more (refused, given back,
 *   shipped). `items` are the lines that were reserved (empty when nothing ever was), so a
 *   late clean-up knows which products to look at.
 */
export type Reservation =
  | { status: 'none' }
  | { status: 'reserved'; orderId: string; items: OrderItem[] }
  | { status: 'failed' | 'released' | 'committed'; orderId: string; items: OrderItem[]; answered: Answered };

export type ClosedReservation = Extract<Reservation, { answered: Answered }>;

export const reservationStream = (orderId: string): string => `reservation-${orderId}`;

export const initialState = (): Reservation => ({ status: 'none' });

const noAnswers: Answered = { reserve: false, release: false, commit: false };

const answerOf: Record<ReservationEventType, keyof Answered> = {
  StockReserved: 'reserve',
  StockReservationFailed: 'reserve',
  StockReleased: 'release',
  StockCommitted: 'commit',
};

export function evolve(state: Reservation, event: ReservationEvent): Reservation {
  const { orderId } = event.data;
  switch (state.status) {
    case 'none':
      switch (event.type) {
        case 'StockReserved':
          return { status: 'reserved', orderId, items: event.data.items };
        case 'StockReservationFailed':
          return { status: 'failed', orderId, items: [], answered: { ...noAnswers, reserve: true } };
        case 'StockReleased':
          return { status: 'released', orderId, items: [], answered: { ...noAnswers, release: true } };
        case 'StockCommitted':
          return { status: 'committed', orderId, items: [], answered: { ...noAnswers, commit: true } };
        default:
          return unknownEvent(event);
      }
    case 'reserved':
      switch (event.type) {
        case 'StockReleased':
          return { status: 'released', orderId, items: state.items, answered: { ...noAnswers, reserve: true, release: true } };
        case 'StockCommitted':
          return { status: 'committed', orderId, items: state.items, answered: { ...noAnswers, reserve: true, commit: true } };
        case 'StockReserved':
        case 'StockReservationFailed':
          // decide never answers a reservation twice; a stream that says so is kept as it was.
          return state;
        default:
          return unknownEvent(event);
      }
    case 'failed':
    case 'released':
    case 'committed':
      // Stock is already settled; a later answer only records that its command was answered.
      return { ...state, answered: { ...state.answered, [answerOf[event.type]]: true } };
    default: {
      const unexpected: never = state;
      throw new Error(`unknown reservation state ${JSON.stringify(unexpected)}`);
    }
  }
}

function unknownEvent(event: never): never {
  throw new Error(`unknown reservation event ${JSON.stringify(event)}`);
}

'use client';

import { useActionState } from 'react';
import { send } from './actions.js';

export function Form() {
  const [result, action] = useActionState(send, null);
  return (
    <form action={action}>
      <input name="message" />
      <button id="submit" type="submit">
        Send
      </button>
      {result !== null && <p id="result">got: {result}</p>}
    </form>
  );
}

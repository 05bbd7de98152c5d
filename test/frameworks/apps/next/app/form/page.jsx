import { Form } from './Form.jsx';

export default function FormPage() {
  return <Form />;
}

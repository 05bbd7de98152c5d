'use server';

export async function send(_previous, formData) {
  return String(formData.get('message'));
}

#include <stdlib.h>
struct node { struct node *next; long val; };
int main(void) {
    int n = 16; struct node *nodes = malloc(n * sizeof *nodes);
    for (int i = 0; i < n; i++) { nodes[i].next = &nodes[(i * 7 + 5) % n]; nodes[i].val = i; }
    long sum = 0; struct node *p = &nodes[0];
    for (int k = 0; k < 32; k++) { sum += p->val; __asm__ volatile("addq $1, %0" : "+m"(p->val)); /* read-modify-write: lackey "M" */ p = p->next; }
    free(nodes);
    return (int)(sum & 1);
}
